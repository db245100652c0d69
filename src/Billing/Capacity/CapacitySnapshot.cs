namespace Lanes.Billing.Capacity;

/// <summary>The capacity ledger at one minute, kept for the staff capacity chart (30 days) and to tell when gateways
/// joined or left: the fleet's totals, and each model pool's figures (absent from snapshots taken before pools).</summary>
public sealed record CapacitySnapshot(
    Guid Id, DateTimeOffset At, int SellableLanes, int SoldLanes, int LiveSlots, int UnplacedLanes, int? PlannedSlots, IReadOnlyList<string> Gateways,
    IReadOnlyList<PoolSnapshot>? Pools = null)
{
    /// <summary>One pool's figures, or the fleet's when <paramref name="pool"/> is null; null when the snapshot has
    /// no figures for the pool.</summary>
    public PoolSnapshot? For(string? pool) => pool is null
        ? new PoolSnapshot("", SellableLanes, SoldLanes, LiveSlots, UnplacedLanes, PlannedSlots, Gateways)
        : Pools?.FirstOrDefault(p => p.Pool == pool);
}

/// <summary>One model pool's ledger at one minute.</summary>
public sealed record PoolSnapshot(string Pool, int SellableLanes, int SoldLanes, int LiveSlots, int UnplacedLanes, int? PlannedSlots, IReadOnlyList<string> Gateways);

/// <summary>Something that changed the fleet's capacity: a planned fleet declared, or a gateway joining or leaving.</summary>
public sealed record CapacityChange(DateTimeOffset At, string What, string? By);
