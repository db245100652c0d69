using Lanes.Billing.GatewayContract;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Usage;
using Marten;
using Marten.Linq.LastModified;
using Npgsql;

namespace Lanes.Billing.Keys;

/// <summary>
/// The key status feed over billing's event store: positions are the events' sequence numbers; a change to a key or
/// subscription stream is read back as the stream's current document, sent in the contract's narrow shapes.
/// </summary>
/// <remarks>Note: the event table is read with one narrow query (number, type, tenant, stream) rather than Marten's
/// raw-event query: that one reads one tenant's events at a time in this conjoined store (a follower needs every
/// tenant's), and would load and deserialise the body of every event only to skip the bookkeeping a gateway does not
/// follow (window closes, and the usage events older versions wrote).</remarks>
public sealed class KeyStatusFeed(IDocumentStore store, NpgsqlDataSource dataSource, KeyUsage usage) : IKeyStatusFeed
{
    /// <summary>Bookkeeping a gateway does not follow: it counts spend itself (usage recorded on key streams by older
    /// versions, and window closes). Marten names an event type by its class name in snake case.</summary>
    private static readonly string[] Skipped = ["usage_recorded", "budget_window_closed"];

    private readonly string _events = $"{store.Options.Events.DatabaseSchemaName}.mt_events";

    public async Task<KeyStatusLoad> LoadAllAsync(CancellationToken ct)
    {
        // The position first: whatever commits while the documents are read is read again from it.
        var position = await PositionAsync(ct);
        await using var query = store.QuerySession();
        return new KeyStatusLoad(
            position,
            await StatusesAsync(await query.Query<ApiKey>().Where(k => k.AnyTenant()).ToListAsync(ct), ct),
            Reservations(await query.Query<Subscription>().Where(s => s.AnyTenant()).ToListAsync(ct)));
    }

    public async Task<KeyStatusChanges> ChangesAsync(long after, IReadOnlyCollection<long> awaited, CancellationToken ct)
    {
        var position = await PositionAsync(ct);
        var present = new HashSet<long>();
        var tenants = new HashSet<string>();
        var streams = new HashSet<Guid>();
        await using (var command = dataSource.CreateCommand(
                         $"select seq_id, type, tenant_id, stream_id from {_events} where (seq_id > $1 and seq_id <= $2) or seq_id = any($3)"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = after });
            command.Parameters.Add(new NpgsqlParameter { Value = position });
            command.Parameters.Add(new NpgsqlParameter { Value = awaited.ToArray() });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                present.Add(reader.GetInt64(0));
                if (!Skipped.Contains(reader.GetString(1)))
                {
                    tenants.Add(reader.GetString(2));
                    streams.Add(reader.GetGuid(3));
                }
            }
        }

        if (streams.Count == 0)
        {
            return new KeyStatusChanges(position, present, [], []);
        }

        var (tenantIds, ids) = (tenants.ToArray(), streams.ToArray());
        await using var query = store.QuerySession();
        return new KeyStatusChanges(
            position,
            present,
            await StatusesAsync(await query.Query<ApiKey>().Where(k => k.TenantIsOneOf(tenantIds) && k.Id.IsOneOf(ids)).ToListAsync(ct), ct),
            Reservations(await query.Query<Subscription>().Where(s => s.TenantIsOneOf(tenantIds) && s.Id.IsOneOf(ids)).ToListAsync(ct)));
    }

    public async Task<KeyStatusReread> WrittenSinceAsync(DateTimeOffset since, CancellationToken ct)
    {
        await using var query = store.QuerySession();
        return new KeyStatusReread(
            await StatusesAsync(await query.Query<ApiKey>().Where(k => k.AnyTenant() && k.ModifiedSince(since)).ToListAsync(ct), ct),
            Reservations(await query.Query<Subscription>().Where(s => s.AnyTenant() && s.ModifiedSince(since)).ToListAsync(ct)));
    }

    /// <summary>The keys as the gateway sees them, with the spend billing has recorded in their windows (a gateway
    /// starting mid-window seeds its budgets with it).</summary>
    private async Task<KeyStatus[]> StatusesAsync(IReadOnlyList<ApiKey> keys, CancellationToken ct) =>
        [.. (await usage.ReadOntoAsync(keys, lastUse: false, ct)).Select(k => k.ToStatus())];

    private static TenantReservation[] Reservations(IReadOnlyList<Subscription> subscriptions) => [.. subscriptions.Select(s => s.ToReservation())];

    private async Task<long> PositionAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"select coalesce(max(seq_id), 0) from {_events}");
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }
}
