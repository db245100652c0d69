namespace Lanes.Billing.Capacity;

/// <summary>
/// The cluster's capacity against the lanes already sold. A reservation is a guarantee only because this check
/// refuses to sell lanes the cluster cannot run.
/// </summary>
public static class CapacityLedger
{
    /// <param name="totalLanes">Lanes the cluster runs at once (configuration).</param>
    /// <param name="allocatedToOthers">Lanes held by every other tenant.</param>
    /// <param name="current">Lanes this tenant holds now.</param>
    /// <param name="requested">Lanes this tenant would hold after the change.</param>
    public static void EnsureFits(int totalLanes, int allocatedToOthers, int current, int requested)
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
                $"Not enough capacity: {requested} lanes requested, {Math.Max(free, 0)} of the cluster's {totalLanes} are free. " +
                "Add capacity or lower other reservations first.");
        }
    }
}
