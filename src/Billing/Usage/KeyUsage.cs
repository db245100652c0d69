using Lanes.Billing.Infrastructure;
using Lanes.Billing.Keys;
using Npgsql;

namespace Lanes.Billing.Usage;

/// <summary>Reads what billing has recorded of keys' usage onto the keys: this window's totals, the next window's
/// (metered before the window job rolled the key) and when each was last used. One round trip for any number of keys.</summary>
public sealed class KeyUsage(NpgsqlDataSource database)
{
    /// <param name="lastUse">Also read when each key was last used (pages that show it; the gateway feed does not).</param>
    public async Task<List<ApiKey>> ReadOntoAsync(IReadOnlyList<ApiKey> keys, bool lastUse = true, CancellationToken ct = default)
    {
        if (keys.Count == 0)
        {
            return [];
        }

        // Each key asks for two rows, its window and the one after; the tenant is part of the match, so a key is
        // only ever read with usage recorded for its own tenant.
        var windows = new Dictionary<(Guid, DateTime), WindowUsage>(keys.Count);
        var lastUsed = new Dictionary<Guid, DateTimeOffset>();
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(
            $"""
            select u.key_id, u.window_start, u.spend_usd, u.requests, u.input_tokens, u.output_tokens, u.throttled
            from unnest($1::uuid[], $2::uuid[], $3::timestamptz[]) as q(tenant_id, key_id, window_start)
            join {UsageTables.KeyWindows} u on u.key_id = q.key_id and u.window_start = q.window_start and u.tenant_id = q.tenant_id
            """,
            keys.SelectMany(k => new[] { k.TenantId, k.TenantId }).ToArray(),
            keys.SelectMany(k => new[] { k.Id, k.Id }).ToArray(),
            keys.SelectMany(k => new[] { k.WindowStart.UtcDateTime, k.WindowEnd.UtcDateTime }).ToArray()));
        if (lastUse)
        {
            batch.BatchCommands.Add(Sql.Command(
                $"select key_id, max(last_recorded_at) from {UsageTables.KeyWindows} where key_id = any($1) group by key_id",
                keys.Select(k => k.Id).ToArray()));
        }

        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            while (await reader.ReadAsync(ct))
            {
                var start = reader.GetFieldValue<DateTime>(1);
                windows[(reader.GetGuid(0), start)] = new WindowUsage(
                    new DateTimeOffset(start, TimeSpan.Zero), reader.GetDecimal(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5), reader.GetInt64(6));
            }

            if (lastUse && await reader.NextResultAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    lastUsed[reader.GetGuid(0)] = new DateTimeOffset(reader.GetFieldValue<DateTime>(1), TimeSpan.Zero);
                }
            }
        }

        return [.. keys.Select(k => k with
        {
            Usage = windows.GetValueOrDefault((k.Id, k.WindowStart.UtcDateTime)),
            UsageAhead = windows.GetValueOrDefault((k.Id, k.WindowEnd.UtcDateTime)),
            LastUsedAt = lastUsed.TryGetValue(k.Id, out var at) ? at : null,
        })];
    }

    /// <summary>Every window of one key that has usage, newest first: what a key's history and the tests read.</summary>
    public async Task<IReadOnlyList<WindowUsage>> WindowsOfAsync(Guid tenantId, Guid keyId, CancellationToken ct = default)
    {
        await using var command = database.CreateCommand(
            $"""
            select window_start, spend_usd, requests, input_tokens, output_tokens, throttled from {UsageTables.KeyWindows}
            where key_id = $1 and tenant_id = $2 order by window_start desc
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = keyId });
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        await using var reader = await command.ExecuteReaderAsync(ct);
        var windows = new List<WindowUsage>();
        while (await reader.ReadAsync(ct))
        {
            windows.Add(new WindowUsage(
                new DateTimeOffset(reader.GetFieldValue<DateTime>(0), TimeSpan.Zero), reader.GetDecimal(1), reader.GetInt64(2), reader.GetInt64(3), reader.GetInt64(4), reader.GetInt64(5)));
        }

        return windows;
    }
}
