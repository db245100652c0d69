using Lanes.Shared.Plans;
using Lanes.Shared.Comparison;
using Lanes.Shared.Pricing;

namespace Lanes.Shared.Tests.Comparison;

public class BreakEvenTests
{
    private static readonly ModelPrice OneAndFour = new("m", 1m, 4m, "test", new DateOnly(2025, 1, 1));
    private static readonly PlanTier Pro = new("pro", "Pro", 50m, 6, 10_000, 20m, TimeSpan.FromHours(8), []);

    /// <summary>1,000 requests a day of 1,500 in and 300 out, 2 at once, at 40 tokens/s: 9.4 s each in a lane.</summary>
    private static readonly Workload Steady = new(1_000, 1_500, 300, 2, 40);

    [Fact]
    public void A_month_of_the_workload_is_priced_per_million_and_compared_with_each_plan_that_carries_it()
    {
        var row = Assert.Single(BreakEven.Compare(Steady, [OneAndFour], [Pro]));

        // 30 × 1,000 × (1,500 × $1 + 300 × $4) / 1 M = $81: the $50 plan saves $31.
        Assert.Equal(81m, row.PerTokenMonthlyUsd);
        Assert.Equal(31m, Assert.Single(row.Plans).SavingUsd);
        Assert.Equal((30L * 1000 * 1500, 30L * 1000 * 300), Steady.MonthlyTokens);
    }

    [Fact]
    public void A_plan_whose_requests_per_window_fall_short_saves_nothing_however_cheap_it_is()
    {
        // Pro allows 10,000 per 8-hour window: 30,000 a day. A workload of 40,000 a day would cost far more per token.
        var busy = Steady with { RequestsPerDay = 40_000, OutputTokensPerSecond = 10_000 };

        var comparison = Assert.Single(Assert.Single(BreakEven.Compare(busy, [OneAndFour], [Pro])).Plans);

        Assert.Equal(PlanFit.TooFewRequests, comparison.Verdict.Fit);
        Assert.Null(comparison.SavingUsd);
        Assert.Equal(30_000, comparison.Verdict.RequestsPerDayAllowed);
    }

    [Fact]
    public void A_plan_whose_lanes_cannot_run_the_requests_in_a_day_saves_nothing()
    {
        // 6 lanes × 86,400 s ÷ (20,000 out ÷ 40/s + 1,500 in ÷ 800/s ≈ 502 s) ≈ 1,033 requests a day, fewer than 2,000.
        var long_ = Steady with { RequestsPerDay = 2_000, OutputTokensPerRequest = 20_000 };

        var verdict = PlanVerdict.For(Pro, long_);

        Assert.Equal(PlanFit.TooFewLanes, verdict.Fit);
        Assert.False(verdict.Carries);
        Assert.InRange(verdict.RequestsPerDayLanesRun, 1_000, 1_100);
    }

    [Fact]
    public void A_peak_above_the_reserved_lanes_still_carries_the_day_but_says_some_requests_wait()
    {
        var verdict = PlanVerdict.For(Pro, Steady with { PeakConcurrentRequests = 8 });

        Assert.Equal(PlanFit.QueuesAtPeak, verdict.Fit);
        Assert.True(verdict.Carries);
    }

    [Fact]
    public void The_best_plan_is_the_cheapest_that_carries_the_workload_and_none_when_none_does()
    {
        var starter = Pro with { Id = "starter", MonthlyPriceUsd = 20m, ReservedLanes = 2, RequestsPerWindow = 2_000 };
        var catalog = new[] { starter, Pro };

        Assert.Equal("starter", BreakEven.BestPlan(BreakEven.Verdicts(Steady, catalog))?.Plan.Id);
        Assert.Equal("pro", BreakEven.BestPlan(BreakEven.Verdicts(Steady with { RequestsPerDay = 20_000 }, catalog))?.Plan.Id);
        Assert.Null(BreakEven.BestPlan(BreakEven.Verdicts(Steady with { RequestsPerDay = 50_000 }, catalog)));
    }

    [Theory]
    [InlineData(-1, 1, nameof(Workload.RequestsPerDay))]
    [InlineData(10, 0, nameof(Workload.PeakConcurrentRequests))]
    public void Impossible_workloads_are_explained_on_the_figure_that_is_wrong(long requestsPerDay, int peak, string field)
    {
        var problem = Assert.Single((Steady with { RequestsPerDay = requestsPerDay, PeakConcurrentRequests = peak }).Problems());
        Assert.Equal(field, problem.Field);
    }

    [Fact]
    public void Break_even_tokens_cost_exactly_the_plan_price()
    {
        var tokens = BreakEven.BreakEvenTokens(OneAndFour, 50m, outputShare: 0.2);

        var cost = PriceTable.Spend(OneAndFour, (long)(tokens * 0.8), (long)(tokens * 0.2));
        Assert.InRange(cost, 49.99m, 50.01m);
    }

    [Fact]
    public void Plans_only_staff_sell_are_not_compared()
    {
        var enterprise = Pro with { Id = "enterprise", SelfServe = false };

        Assert.Single(BreakEven.Compare(Steady, [OneAndFour], [Pro, enterprise])[0].Plans);
    }

    [Fact]
    public void Every_reference_price_says_where_and_when_it_was_read()
    {
        Assert.All(PublishedPrices.Published, p =>
        {
            Assert.StartsWith("https://", p.Source);
            Assert.Equal(PublishedPrices.ReadOn, p.AsOf);
            Assert.True(p.InputPerMillionUsd > 0 && p.OutputPerMillionUsd > 0);
        });
    }
}
