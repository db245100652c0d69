namespace Lanes.Billing.Capacity;

/// <summary>One model pool's ledger as operators and staff read it: what can be sold, what is sold, what its
/// gateways run, and which plans sell from it.</summary>
public sealed record PoolReport(PoolCapacity Now, int SoldLanes, int PendingLanes, IReadOnlyList<string> Plans, IReadOnlyList<string> PlanModels)
{
    public string Pool => Now.Pool;

    public int FreeLanes => Math.Max(0, Now.SellableLanes - SoldLanes - PendingLanes);

    /// <summary>Sold lanes a live engine slot backs.</summary>
    public int PlacedLanes => Now.Source == CapacitySource.Fleet ? Math.Min(SoldLanes, Now.LiveSlots) : SoldLanes;

    /// <summary>Sold lanes no live engine slot backs (the pool lost a node, or a plan has not arrived): nobody is cut,
    /// but these reservations are not guaranteed until capacity returns.</summary>
    public int UnplacedLanes => SoldLanes - PlacedLanes;

    /// <summary>Models the pool's plans include that none of its live gateways serve: a misconfigured pool, shown to
    /// staff (empty while no gateway reports, or when the plans name no models).</summary>
    public IReadOnlyList<string> UnservedModels => Now.Nodes.Count == 0 ? [] : [.. PlanModels.Except(Now.Models, StringComparer.Ordinal)];
}

/// <summary>The whole ledger: every model pool, and the fleet's totals.</summary>
public sealed record CapacityReport(CapacitySource Source, IReadOnlyList<PoolReport> Pools)
{
    public int SellableLanes => Pools.Sum(p => p.Now.SellableLanes);

    public int SoldLanes => Pools.Sum(p => p.SoldLanes);

    public int PendingLanes => Pools.Sum(p => p.PendingLanes);

    public int FreeLanes => Pools.Sum(p => p.FreeLanes);

    public int LiveSlots => Pools.Sum(p => p.Now.LiveSlots);

    public int PlacedLanes => Pools.Sum(p => p.PlacedLanes);

    public int UnplacedLanes => Pools.Sum(p => p.UnplacedLanes);

    public int SpareSlots => Pools.Sum(p => p.Now.SpareSlots);

    public int TrialLanes => Pools.Sum(p => p.Now.TrialLanes);

    /// <summary>Slots planned across the pools with a plan in effect; null when none has one.</summary>
    public int? PlannedSlots => Pools.Any(p => p.Now.Planned is not null) ? Pools.Sum(p => p.Now.Planned?.Slots ?? 0) : null;

    public IReadOnlyList<FleetNode> Nodes => [.. Pools.SelectMany(p => p.Now.Nodes).OrderBy(n => n.Id, StringComparer.Ordinal)];

    public PoolReport Pool(string pool) =>
        Pools.FirstOrDefault(p => p.Pool == pool) ?? throw new NotFound($"Model pool '{pool}'");
}
