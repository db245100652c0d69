using Npgsql;

namespace Lanes.Billing.Infrastructure;

/// <summary>
/// Current versions of many streams in one round trip, read from the event store itself rather than from snapshots
/// (a snapshot written in a bulk start can carry version 0). Writers that touch many streams append at these
/// versions, so a concurrent writer makes the whole batch retry instead of being overwritten.
/// </summary>
public sealed class StreamVersions(NpgsqlDataSource dataSource)
{
    /// <param name="tenantIds">The Marten tenants the streams belong to: with them the primary key (tenant, id) finds
    /// each stream directly.</param>
    public async Task<Dictionary<Guid, long>> ReadAsync(IReadOnlyCollection<string> tenantIds, IReadOnlyCollection<Guid> streamIds, CancellationToken ct)
    {
        var versions = new Dictionary<Guid, long>(streamIds.Count);
        if (streamIds.Count == 0)
        {
            return versions;
        }

        await using var command = dataSource.CreateCommand(
            $"select id, version from {BillingStore.Schema}.mt_streams where tenant_id = any($1) and id = any($2)");
        command.Parameters.Add(new NpgsqlParameter { Value = tenantIds.ToArray() });
        command.Parameters.Add(new NpgsqlParameter { Value = streamIds.ToArray() });
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            versions[reader.GetGuid(0)] = reader.GetInt64(1);
        }

        return versions;
    }
}
