using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;
using Marten;

namespace Lanes.Billing.Capacity;

/// <summary>Reads the capacity ledger, and records an operator's planned fleet.</summary>
public sealed class CapacityLedgerView(IDocumentStore store, FleetCapacity fleet, SubscriptionService subscriptions, PlanCatalog plans, TimeProvider clock)
{
    public async Task<CapacityReport> ReadAsync(CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        var pools = await fleet.ReadAsync(query, ct);
        var reports = new List<PoolReport>(pools.Count);
        foreach (var pool in pools)
        {
            var (sold, pending) = await subscriptions.SoldAndPendingAsync(query, pool.Pool, ct);
            var sellers = plans.Tiers.Where(p => ModelPools.Of(p) == pool.Pool).ToList();
            reports.Add(new PoolReport(pool, sold, pending, [.. sellers.Select(p => p.Id)],
                [.. sellers.SelectMany(p => p.Models).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)]));
        }

        return new CapacityReport(pools.FirstOrDefault()?.Source ?? CapacitySource.Fleet, reports);
    }

    /// <summary>Declares that from <paramref name="effectiveAt"/> the pool has <paramref name="slots"/> engine slots in
    /// all (0 withdraws the pool's plan).</summary>
    public async Task PlanAsync(int slots, DateTimeOffset effectiveAt, string reason, string by, string pool = ModelPools.Default, CancellationToken ct = default)
    {
        if (slots < 0)
        {
            throw new RuleViolation("invalid_slots", "A planned fleet has zero or more engine slots.");
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new RuleViolation("reason_required", "Say why the fleet changes (for example: two nodes added in region A).");
        }

        if (!ModelPools.IsValidId(pool))
        {
            throw new RuleViolation("invalid_pool", $"'{pool}' is not a model pool id (lower-case letters, digits, dots and dashes, such as 'qwen-7b').");
        }

        await using var session = store.LightweightSession();
        session.Store(new PlannedFleet(Guid.CreateVersion7(), slots, effectiveAt, reason.Trim(), by, clock.GetUtcNow(), pool));
        await session.SaveChangesAsync(ct);
    }

    /// <summary>Keeps the ledger as it is now (every minute, by a job) for the chart and the list of changes.</summary>
    public async Task<CapacitySnapshot> RecordSnapshotAsync(CancellationToken ct = default)
    {
        var report = await ReadAsync(ct);
        var at = clock.GetUtcNow();
        var snapshot = new CapacitySnapshot(Guid.CreateVersion7(at), at, report.SellableLanes, report.SoldLanes,
            report.LiveSlots, report.UnplacedLanes, report.PlannedSlots, [.. report.Nodes.Select(n => n.Id)],
            [.. report.Pools.Select(p => new PoolSnapshot(p.Pool, p.Now.SellableLanes, p.SoldLanes, p.Now.LiveSlots, p.UnplacedLanes, p.Now.Planned?.Slots,
                [.. p.Now.Nodes.Select(n => n.Id)]))]);
        await using var session = store.LightweightSession();
        session.Store(snapshot);
        var keptFrom = snapshot.At - KeptFor;
        session.DeleteWhere<CapacitySnapshot>(old => old.At < keptFrom);
        await session.SaveChangesAsync(ct);
        return snapshot;
    }

    /// <summary>How long snapshots are kept.</summary>
    public static readonly TimeSpan KeptFor = TimeSpan.FromDays(30);

    public async Task<IReadOnlyList<CapacitySnapshot>> HistoryAsync(DateTimeOffset since, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        return await query.Query<CapacitySnapshot>().Where(x => x.At >= since).OrderBy(x => x.At).ToListAsync(ct);
    }

    /// <summary>What changed the capacity since then, newest first: plans declared, gateways that joined or left a
    /// pool (seen between consecutive snapshots).</summary>
    public async Task<IReadOnlyList<CapacityChange>> ChangesAsync(DateTimeOffset since, CancellationToken ct = default)
    {
        IReadOnlyList<PlannedFleet> declared;
        await using (var query = store.QuerySession())
        {
            declared = await query.Query<PlannedFleet>().Where(p => p.DeclaredAt >= since).ToListAsync(ct);
        }

        var changes = declared.Select(p => new CapacityChange(p.DeclaredAt, (p.Slots == 0
            ? $"Planned fleet withdrawn{InPool(p.PoolId)}: "
            : $"Planned fleet of {p.Slots} slots{InPool(p.PoolId)} from {p.EffectiveAt:d MMM yyyy HH:mm} UTC: ") + p.Reason, p.DeclaredBy)).ToList();
        var history = await HistoryAsync(since, ct);
        foreach (var (before, after) in history.Zip(history.Skip(1)))
        {
            // Per pool where snapshots have pools, so the line says which pool gained or lost the slots.
            var pools = (after.Pools ?? []).Select(p => (string?)p.Pool).DefaultIfEmpty(null);
            foreach (var pool in pools)
            {
                IReadOnlyList<string> was = before.Pools is null || pool is null ? before.Gateways : before.For(pool)?.Gateways ?? [];
                var now = after.For(pool)!;
                var where = pool is null ? "" : InPool(pool);
                changes.AddRange(now.Gateways.Except(was).Select(g => new CapacityChange(after.At, $"Gateway {g} joined{where} ({now.LiveSlots} live slots)", null)));
                changes.AddRange(was.Except(now.Gateways).Select(g => new CapacityChange(after.At, $"Gateway {g} left{where} ({now.LiveSlots} live slots)", null)));
            }
        }

        return [.. changes.OrderByDescending(c => c.At)];
    }

    /// <summary>Names the pool in a change when the fleet has more than the default one.</summary>
    private static string InPool(string pool) => pool == ModelPools.Default ? "" : $" in pool {pool}";
}
