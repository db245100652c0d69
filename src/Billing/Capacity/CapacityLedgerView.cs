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
        var (soldAndPending, _) = await subscriptions.CapacityAsync(ct);
        var (sold, _) = await subscriptions.CapacityAsync(ct, exceptPendingOf: null, includePending: false);
        return new CapacityReport(now, sold, soldAndPending - sold);
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
}
