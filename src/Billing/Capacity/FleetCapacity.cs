using Lanes.Billing.Occupancy;
using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;
using Marten;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Capacity;

/// <summary>One live gateway: its model pool, the models its engine serves and its engine slots.</summary>
public sealed record FleetNode(string Id, string Pool, int Slots, IReadOnlyList<string> Models, DateTimeOffset ReportedAt);

/// <summary>
/// The capacity ledger of one model pool at one instant: what its gateways run (<see cref="LiveSlots"/>), what an
/// operator planned, what is kept spare, and so the lanes that can be sold, split into the trial pool and the paid
/// pool.
/// </summary>
public sealed record PoolCapacity(
    string Pool, CapacitySource Source, IReadOnlyList<FleetNode> Nodes, int LiveSlots, PlannedFleet? Planned, int SpareSlots, int SellableLanes, int TrialLanes)
{
    /// <summary>The lanes paid plans and staff overrides are sold from.</summary>
    public int PaidLanes => Math.Max(0, SellableLanes - TrialLanes);

    /// <summary>The models the pool's live gateways serve.</summary>
    public IReadOnlyList<string> Models => [.. Nodes.SelectMany(n => n.Models).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
}

/// <summary>Reads the ledger, per model pool. Note: selling reads it in the session that holds the capacity lock, so
/// every sale (checkout, upgrade, override, CLI, management API) checks the same numbers.</summary>
public sealed class FleetCapacity(IOptions<CapacityOptions> options, PlanCatalog plans, IOptions<InternalBillingOptions> trials, TimeProvider clock)
{
    /// <summary>Free trials draw from the pool of the trial plan.</summary>
    public string TrialPool => ModelPools.Of(plans.Find(trials.Value.TrialPlan));

    /// <summary>Every pool a plan sells from, a gateway reports in or an operator planned, in name order.</summary>
    public async Task<IReadOnlyList<PoolCapacity>> ReadAsync(IQuerySession query, CancellationToken ct = default)
    {
        var o = options.Value;
        var now = clock.GetUtcNow();
        var since = now - o.NodeTimeout;
        var nodes = (await query.Query<GatewayOccupancy>().Where(r => r.ReportedAt > since).ToListAsync(ct))
            .Select(r => new FleetNode(r.Id, r.PoolId, r.Slots, r.Models ?? [], r.ReportedAt)).OrderBy(n => n.Id, StringComparer.Ordinal).ToList();
        var planned = o.Source == CapacitySource.Configured
            ? new Dictionary<string, PlannedFleet>()
            : (await query.Query<PlannedFleet>().Where(p => p.EffectiveAt <= now).ToListAsync(ct))
                .GroupBy(p => p.PoolId).Select(g => g.OrderByDescending(p => p.EffectiveAt).ThenByDescending(p => p.DeclaredAt).First())
                .ToDictionary(p => p.PoolId);
        var pools = plans.Tiers.Select(ModelPools.Of).Concat(nodes.Select(n => n.Pool)).Concat(planned.Keys).Append(TrialPool)
            .Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        return [.. pools.Select(pool => Compute(pool, [.. nodes.Where(n => n.Pool == pool)], planned.GetValueOrDefault(pool)))];
    }

    public async Task<PoolCapacity> ReadPoolAsync(IQuerySession query, string pool, CancellationToken ct = default) =>
        (await ReadAsync(query, ct)).Single(p => p.Pool == pool);

    public async Task<IReadOnlyList<PoolCapacity>> ReadAsync(IDocumentStore store, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        return await ReadAsync(query, ct);
    }

    private PoolCapacity Compute(string pool, IReadOnlyList<FleetNode> nodes, PlannedFleet? planned)
    {
        var o = options.Value;
        var live = nodes.Sum(n => n.Slots);
        var trialPool = pool == TrialPool;
        if (o.Source == CapacitySource.Configured)
        {
            // Sold as typed, in the default pool; the gateways that report are still shown, for staff to compare.
            var total = pool == ModelPools.Default ? o.TotalLanes : 0;
            return new PoolCapacity(pool, o.Source, nodes, live, null, 0, total, trialPool ? Math.Min(o.TrialLanes, total) : 0);
        }

        planned = planned is { Slots: > 0 } ? planned : null;
        var fleet = Math.Max(live, planned?.Slots ?? 0);

        // The spare is the pool's largest live nodes' slots: losing any one of them still leaves every sold lane
        // placed. Per pool, because a lost node of one model's pool leaves the other pools untouched.
        var spare = nodes.Select(n => n.Slots).OrderByDescending(s => s).Take(o.SpareNodes).Sum();
        var sellable = Math.Max(0, fleet - spare);
        return new PoolCapacity(pool, o.Source, nodes, live, planned, spare, sellable, trialPool ? Math.Min(o.TrialLanes, sellable) : 0);
    }
}
