namespace Lanes.Billing.Capacity;

/// <summary>The capacity ledger at one minute, kept for the staff capacity chart (30 days) and to tell when gateways
/// joined or left.</summary>
public sealed record CapacitySnapshot(
    Guid Id, DateTimeOffset At, int SellableLanes, int SoldLanes, int LiveSlots, int UnplacedLanes, int? PlannedSlots, IReadOnlyList<string> Gateways);

/// <summary>Something that changed the fleet's capacity: a planned fleet declared, or a gateway joining or leaving.</summary>
public sealed record CapacityChange(DateTimeOffset At, string What, string? By);
