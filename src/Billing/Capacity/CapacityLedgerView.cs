using Lanes.Billing.Subscriptions;
using Marten;

namespace Lanes.Billing.Capacity;

/// <summary>The ledger as operators and staff read it: what can be sold, what is sold, and what the fleet runs.</summary>
public sealed record CapacityReport(CapacityNow Now, int SoldLanes, int PendingLanes)
{
    public int FreeLanes => Math.Max(0, Now.SellableLanes - SoldLanes - PendingLanes);

    /// <summary>Sold lanes no live engine slot backs (the fleet lost a node, or a plan has not arrived): nobody is cut,
    /// but these reservations are not guaranteed until capacity returns.</summary>
    public int UnplacedLanes => Now.Source == CapacitySource.Fleet ? Math.Max(0, SoldLanes - Now.LiveSlots) : 0;
}

/// <summary>Reads the capacity ledger, and records an operator's planned fleet.</summary>
public sealed class CapacityLedgerView(IDocumentStore store, FleetCapacity fleet, SubscriptionService subscriptions, TimeProvider clock)
{
    public async Task<CapacityReport> ReadAsync(CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        var now = await fleet.ReadAsync(query, ct);
        var (sold, pending) = await subscriptions.SoldAndPendingAsync(query, ct);
        return new CapacityReport(now, sold, pending);
    }

    public async Task PlanAsync(int slots, DateTimeOffset effectiveAt, string reason, string by, CancellationToken ct = default)
    {
        if (slots < 0)
        {
            throw new RuleViolation("invalid_slots", "A planned fleet has zero or more engine slots.");
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new RuleViolation("reason_required", "Say why the fleet changes (for example: two nodes added in region A).");
        }

        await using var session = store.LightweightSession();
        session.Store(new PlannedFleet(Guid.CreateVersion7(), slots, effectiveAt, reason.Trim(), by, clock.GetUtcNow()));
        await session.SaveChangesAsync(ct);
    }

    /// <summary>Keeps the ledger as it is now (every minute, by a job) for the chart and the list of changes.</summary>
    public async Task<CapacitySnapshot> RecordSnapshotAsync(CancellationToken ct = default)
    {
        var report = await ReadAsync(ct);
        var snapshot = new CapacitySnapshot(Guid.CreateVersion7(clock.GetUtcNow()), clock.GetUtcNow(), report.Now.SellableLanes, report.SoldLanes,
            report.Now.LiveSlots, report.UnplacedLanes, report.Now.Planned?.Slots, [.. report.Now.Nodes.Select(n => n.Id)]);
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

    /// <summary>What changed the capacity since then, newest first: plans declared, gateways that joined or left
    /// (seen between consecutive snapshots).</summary>
    public async Task<IReadOnlyList<CapacityChange>> ChangesAsync(DateTimeOffset since, CancellationToken ct = default)
    {
        IReadOnlyList<PlannedFleet> plans;
        await using (var query = store.QuerySession())
        {
            plans = await query.Query<PlannedFleet>().Where(p => p.DeclaredAt >= since).ToListAsync(ct);
        }

        var changes = plans.Select(p => new CapacityChange(p.DeclaredAt,
            p.Slots == 0 ? $"Planned fleet withdrawn: {p.Reason}" : $"Planned fleet of {p.Slots} slots from {p.EffectiveAt:d MMM yyyy HH:mm} UTC: {p.Reason}", p.DeclaredBy)).ToList();
        var history = await HistoryAsync(since, ct);
        foreach (var (before, after) in history.Zip(history.Skip(1)))
        {
            changes.AddRange(after.Gateways.Except(before.Gateways).Select(g => new CapacityChange(after.At, $"Gateway {g} joined ({after.LiveSlots} live slots)", null)));
            changes.AddRange(before.Gateways.Except(after.Gateways).Select(g => new CapacityChange(after.At, $"Gateway {g} left ({after.LiveSlots} live slots)", null)));
        }

        return [.. changes.OrderByDescending(c => c.At)];
    }
}
