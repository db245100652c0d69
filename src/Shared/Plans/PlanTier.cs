namespace Lanes.Shared.Plans;

/// <summary>One entry of the plan catalog: what a tenant buys.</summary>
/// <param name="Id">Stable identifier used in events, configuration and the CLI (for example "pro").</param>
/// <param name="ReservedLanes">Guaranteed concurrent requests for a tenant on this plan.</param>
/// <param name="RequestsPerWindow">Requests a tenant may start per window, across all its keys.</param>
/// <param name="DefaultKeyBudgetUsd">Budget a new key gets per window when its creator does not set one.</param>
/// <param name="SelfServe">False for tiers only staff can assign (Enterprise).</param>
/// <param name="Pool">The model pool the plan's lanes are on (<see cref="ModelPools"/>).</param>
/// <param name="SloTerms">The plan's lane promise; null is <see cref="LaneSlo.Default"/>.</param>
public sealed record PlanTier(
    string Id,
    string Name,
    decimal MonthlyPriceUsd,
    int ReservedLanes,
    int RequestsPerWindow,
    decimal DefaultKeyBudgetUsd,
    TimeSpan WindowLength,
    IReadOnlyList<string> Models,
    string? StripePriceId = null,
    bool SelfServe = true,
    string Pool = ModelPools.Default,
    LaneSlo? SloTerms = null)
{
    /// <summary>The plan's lane promise: admission target, monthly objective and credit tiers.</summary>
    public LaneSlo Slo => SloTerms ?? LaneSlo.Default;

    /// <summary>Requests a tenant may start in a day: the window's allowance times the windows in a day.</summary>
    public double RequestsPerDay => RequestsPerWindow * (TimeSpan.FromDays(1) / WindowLength);

    public bool Allows(string model) => Models.Count == 0 || Models.Contains(model, StringComparer.Ordinal);
}
