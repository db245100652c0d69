using Lanes.Billing.Occupancy;
using Marten;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Capacity;

/// <summary>One live gateway and its engine slots.</summary>
public sealed record FleetNode(string Id, int Slots, DateTimeOffset ReportedAt);

/// <summary>
/// The capacity ledger at one instant: what the fleet runs (<see cref="LiveSlots"/>), what an operator planned, what
/// is kept spare, and so the lanes that can be sold, split into the trial pool and the paid pool.
/// </summary>
public sealed record CapacityNow(
    CapacitySource Source, IReadOnlyList<FleetNode> Nodes, int LiveSlots, PlannedFleet? Planned, int SpareSlots, int SellableLanes, int TrialLanes)
{
    /// <summary>The lanes paid plans and staff overrides are sold from.</summary>
    public int PaidLanes => Math.Max(0, SellableLanes - TrialLanes);
}

/// <summary>Reads the ledger. Note: selling reads it in the session that holds the capacity lock, so every sale
/// (checkout, upgrade, override, CLI, management API) checks the same numbers.</summary>
public sealed class FleetCapacity(IOptions<CapacityOptions> options, TimeProvider clock)
{
    public async Task<CapacityNow> ReadAsync(IQuerySession query, CancellationToken ct = default)
    {
        var o = options.Value;
        var now = clock.GetUtcNow();
        var since = now - o.NodeTimeout;
        var nodes = (await query.Query<GatewayOccupancy>().Where(r => r.ReportedAt > since).ToListAsync(ct))
            .Select(r => new FleetNode(r.Id, r.Slots, r.ReportedAt)).OrderBy(n => n.Id, StringComparer.Ordinal).ToList();
        if (o.Source == CapacitySource.Configured)
        {
            // Sold as typed; the gateways that report are still shown, for staff to compare.
            return new CapacityNow(o.Source, nodes, nodes.Sum(n => n.Slots), null, 0, o.TotalLanes, Math.Min(o.TrialLanes, o.TotalLanes));
        }

        var planned = (await query.Query<PlannedFleet>().Where(p => p.EffectiveAt <= now).OrderByDescending(p => p.EffectiveAt)
            .ThenByDescending(p => p.DeclaredAt).Take(1).ToListAsync(ct)).FirstOrDefault() is { Slots: > 0 } p ? p : null;
        var live = nodes.Sum(n => n.Slots);
        var fleet = Math.Max(live, planned?.Slots ?? 0);

        // The spare is the largest live nodes' slots: losing any one of them still leaves every sold lane placed.
        var spare = nodes.Select(n => n.Slots).OrderByDescending(s => s).Take(o.SpareNodes).Sum();
        var sellable = Math.Max(0, fleet - spare);
        return new CapacityNow(o.Source, nodes, live, planned, spare, sellable, Math.Min(o.TrialLanes, sellable));
    }

    public async Task<CapacityNow> ReadAsync(IDocumentStore store, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        return await ReadAsync(query, ct);
    }
}
