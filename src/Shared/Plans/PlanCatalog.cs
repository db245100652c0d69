namespace Lanes.Shared.Plans;

/// <summary>The tiers Lanes sells, in display order. Built once from validated configuration.</summary>
public sealed class PlanCatalog
{
    private readonly Dictionary<string, PlanTier> _byId;

    public PlanCatalog(IEnumerable<PlanTier> tiers)
    {
        Tiers = tiers.ToList();
        _byId = Tiers.ToDictionary(t => t.Id, StringComparer.OrdinalIgnoreCase);
    }

    public IReadOnlyList<PlanTier> Tiers { get; }

    public PlanTier? Find(string id) => _byId.GetValueOrDefault(id);

    public PlanTier Get(string id) =>
        Find(id) ?? throw new KeyNotFoundException($"Plan '{id}' is not in the plan catalog.");

    public static readonly TimeSpan DefaultWindow = TimeSpan.FromHours(8);

    /// <summary>The catalog Lanes ships with; operators override it under <c>Plans</c> in configuration.</summary>
    public static IReadOnlyList<PlanTier> Defaults { get; } =
    [
        new("starter", "Starter", 20m, ReservedLanes: 2, RequestsPerWindow: 2_000, DefaultKeyBudgetUsd: 5m, DefaultWindow, []),
        new("pro", "Pro", 50m, ReservedLanes: 6, RequestsPerWindow: 10_000, DefaultKeyBudgetUsd: 20m, DefaultWindow, []),
        new("team", "Team", 250m, ReservedLanes: 32, RequestsPerWindow: 60_000, DefaultKeyBudgetUsd: 100m, DefaultWindow, []),
        new("enterprise", "Enterprise", 0m, ReservedLanes: 64, RequestsPerWindow: 250_000, DefaultKeyBudgetUsd: 500m, DefaultWindow, [], SelfServe: false),
    ];
}
