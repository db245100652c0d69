using Lanes.Shared.Plans;
using Lanes.Shared.Comparison;
using Lanes.Shared.Pricing;

namespace Lanes.Shared.Tests.Comparison;

public class BreakEvenTests
{
    private static readonly ModelPrice OneAndFour = new("m", 1m, 4m, "test", new DateOnly(2025, 1, 1));
    private static readonly PlanTier Pro = new("pro", "Pro", 50m, 6, 10_000, 20m, TimeSpan.FromHours(8), []);

    [Fact]
    public void A_month_of_tokens_is_priced_per_million_and_compared_with_each_plan()
    {
        var row = Assert.Single(BreakEven.Compare(20_000_000, 5_000_000, [OneAndFour], [Pro]));

        // 20 M × $1 + 5 M × $4 = $40: the $50 plan costs $10 more.
        Assert.Equal(40m, row.PerTokenMonthlyUsd);
        Assert.Equal(-10m, Assert.Single(row.Plans).SavingUsd);
    }

    [Fact]
    public void A_workload_shape_becomes_thirty_days_of_tokens()
    {
        Assert.Equal((30L * 1000 * 1500, 30L * 1000 * 300), BreakEven.MonthlyTokens(1000, 1500, 300));
        Assert.Throws<ArgumentOutOfRangeException>(() => BreakEven.MonthlyTokens(-1, 1, 1));
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

        Assert.Single(BreakEven.Compare(1, 1, [OneAndFour], [Pro, enterprise])[0].Plans);
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
