namespace Lanes.Billing.Capacity;

/// <summary>
/// The cluster's capacity against the lanes already sold. A reservation is a guarantee only because this check
/// refuses to sell lanes the cluster cannot run.
/// </summary>
public static class CapacityLedger
{
    /// <param name="totalLanes">Lanes the pool can run at once (configuration).</param>
    /// <param name="allocatedToOthers">Lanes held in the pool by every other tenant.</param>
    /// <param name="current">Lanes this tenant holds in the pool now.</param>
    /// <param name="requested">Lanes this tenant would hold in the pool after the change.</param>
    /// <param name="pool">The model pool, named in the refusal when it is not the default one.</param>
    public static void EnsureFits(int totalLanes, int allocatedToOthers, int current, int requested, string pool = Lanes.Shared.Plans.ModelPools.Default)
    {
        // Shrinking never needs room, even when capacity was lowered below what is sold.
        if (requested <= current)
        {
            return;
        }

        var free = totalLanes - allocatedToOthers;
        if (requested > free)
        {
            throw new RuleViolation(
                "capacity_exceeded",
                $"Not enough capacity: {requested} lanes requested, {Math.Max(free, 0)} of the {(pool == Lanes.Shared.Plans.ModelPools.Default ? "cluster's" : $"'{pool}' pool's")} {totalLanes} are free. " +
                "Add capacity or lower other reservations first.");
        }
    }

    /// <summary>The same check for the trial pool, which free trials draw from and paid plans never touch.</summary>
    public static void EnsureTrialFits(int trialLanes, int heldByOtherTrials, int current, int requested)
    {
        if (requested > current && requested > trialLanes - heldByOtherTrials)
        {
            throw new RuleViolation(
                "trials_full",
                "Free trials are fully booked right now: the trial pool has no free lanes. Lanes staff can assign a plan.");
        }
    }
}
