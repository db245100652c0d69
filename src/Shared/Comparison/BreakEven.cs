using Lanes.Shared.Plans;
using Lanes.Shared.Pricing;

namespace Lanes.Shared.Comparison;

/// <summary>What a month of tokens costs at one per-token price, and how that compares with a flat plan.</summary>
public sealed record BreakEvenRow(ModelPrice Price, decimal PerTokenMonthlyUsd, IReadOnlyList<(PlanTier Plan, decimal SavingUsd)> Plans);

/// <summary>The break-even calculator: monthly tokens (or a workload shape) against per-token list prices and each plan.</summary>
public static class BreakEven
{
    /// <summary>A workload described as requests per day of a typical shape, turned into monthly tokens (30 days).</summary>
    public static (long Input, long Output) MonthlyTokens(long requestsPerDay, int inputTokensPerRequest, int outputTokensPerRequest)
    {
        if (requestsPerDay < 0 || inputTokensPerRequest < 0 || outputTokensPerRequest < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(requestsPerDay), "A workload has no negative figures.");
        }

        return (requestsPerDay * 30 * inputTokensPerRequest, requestsPerDay * 30 * outputTokensPerRequest);
    }

    /// <summary>One row per price: the per-token bill for the month and, per self-serve plan, what the plan saves
    /// (negative when per-token is cheaper).</summary>
    public static IReadOnlyList<BreakEvenRow> Compare(long monthlyInputTokens, long monthlyOutputTokens, IEnumerable<ModelPrice> prices, IEnumerable<PlanTier> plans)
    {
        var selfServe = plans.Where(p => p.SelfServe).ToList();
        return [.. prices.Select(price =>
        {
            var perToken = Math.Round(PriceTable.Spend(price, monthlyInputTokens, monthlyOutputTokens), 2);
            return new BreakEvenRow(price, perToken, [.. selfServe.Select(plan => (plan, perToken - plan.MonthlyPriceUsd))]);
        })];
    }

    /// <summary>Monthly tokens (with the given output share) at which a per-token price costs as much as the plan.</summary>
    public static long BreakEvenTokens(ModelPrice price, decimal monthlyPlanUsd, double outputShare)
    {
        var blended = (decimal)(1 - outputShare) * price.InputPerMillionUsd + (decimal)outputShare * price.OutputPerMillionUsd;
        return blended <= 0 ? long.MaxValue : (long)(monthlyPlanUsd / blended * 1_000_000m);
    }
}
