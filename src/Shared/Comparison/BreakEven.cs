using Lanes.Shared.Plans;
using Lanes.Shared.Pricing;

namespace Lanes.Shared.Comparison;

/// <summary>One plan against one per-token price for a workload: the saving is there only when the plan carries the
/// workload. A plan too small to run it saves nothing, however cheap it is.</summary>
public sealed record PlanComparison(PlanVerdict Verdict, decimal? SavingUsd)
{
    public PlanTier Plan => Verdict.Plan;
}

/// <summary>What a month of the workload costs at one per-token price, and how each self-serve plan compares.</summary>
public sealed record BreakEvenRow(ModelPrice Price, decimal PerTokenMonthlyUsd, IReadOnlyList<PlanComparison> Plans);

/// <summary>The break-even calculator: a workload against per-token list prices and each plan.</summary>
public static class BreakEven
{
    /// <summary>Each self-serve plan judged against the workload, in catalog order.</summary>
    public static IReadOnlyList<PlanVerdict> Verdicts(Workload workload, IEnumerable<PlanTier> plans) =>
        [.. plans.Where(p => p.SelfServe).Select(p => PlanVerdict.For(p, workload))];

    /// <summary>The cheapest self-serve plan that carries the workload, preferring one with no waits at the peak
    /// when it costs no more; null when none does.</summary>
    public static PlanVerdict? BestPlan(IReadOnlyList<PlanVerdict> verdicts) =>
        verdicts.Where(v => v.Carries).OrderBy(v => v.Plan.MonthlyPriceUsd).ThenBy(v => v.Fit == PlanFit.Carries ? 0 : 1).FirstOrDefault();

    /// <summary>One row per price: the per-token bill for a month of the workload and, per self-serve plan, what the
    /// plan saves (negative when per-token is cheaper; null when the plan cannot carry the workload).</summary>
    public static IReadOnlyList<BreakEvenRow> Compare(Workload workload, IEnumerable<ModelPrice> prices, IEnumerable<PlanTier> plans)
    {
        var verdicts = Verdicts(workload, plans);
        var (input, output) = workload.MonthlyTokens;
        return [.. prices.Select(price =>
        {
            var perToken = Math.Round(PriceTable.Spend(price, input, output), 2);
            return new BreakEvenRow(price, perToken, [.. verdicts.Select(v => new PlanComparison(v, v.Carries ? perToken - v.Plan.MonthlyPriceUsd : null))]);
        })];
    }

    /// <summary>Monthly tokens (with the given output share) at which a per-token price costs as much as the plan.</summary>
    public static long BreakEvenTokens(ModelPrice price, decimal monthlyPlanUsd, double outputShare)
    {
        var blended = (decimal)(1 - outputShare) * price.InputPerMillionUsd + (decimal)outputShare * price.OutputPerMillionUsd;
        return blended <= 0 ? long.MaxValue : (long)(monthlyPlanUsd / blended * 1_000_000m);
    }
}
