using Lanes.Portal.Components.Pages.Usage;

namespace Lanes.Portal.Tests.Components.Pages.Usage;

public class ChartAxisTests
{
    [Fact]
    public void One_request_fills_the_chart_on_a_whole_number_axis_instead_of_a_fixed_zero_to_twenty()
    {
        var axis = ChartAxis.Fit(ChartUnit.Count, 1);

        Assert.Equal(0, axis.Ticks[0]);
        Assert.Equal(1, axis.Max);
        Assert.All(axis.Ticks, t => Assert.Equal(Math.Floor(t), t));
    }

    [Fact]
    public void A_small_dollar_amount_gets_a_dollar_axis_with_cents_that_reaches_just_above_it()
    {
        var axis = ChartAxis.Fit(ChartUnit.Usd, 0.38);

        Assert.Equal(0.4, axis.Max, 6);
        Assert.Equal(["$0.00", "$0.10", "$0.20", "$0.30", "$0.40"], axis.Ticks.Select(axis.Label));
    }

    [Fact]
    public void Token_counts_read_in_thousands_and_millions_not_raw_digits()
    {
        var thousands = ChartAxis.Fit(ChartUnit.Tokens, 245_760);
        var millions = ChartAxis.Fit(ChartUnit.Tokens, 3_400_000);

        Assert.Equal(["0", "50k", "100k", "150k", "200k", "250k"], thousands.Ticks.Select(thousands.Label));
        Assert.Equal(["0", "1M", "2M", "3M", "4M"], millions.Ticks.Select(millions.Label));
        Assert.DoesNotContain(thousands.Ticks.Select(thousands.Label), l => l.Contains("245760", StringComparison.Ordinal));
    }

    [Fact]
    public void Ticks_between_round_thousands_keep_the_decimal_that_tells_them_apart()
    {
        var axis = ChartAxis.Fit(ChartUnit.Count, 11_000);

        Assert.Equal(["0", "2.5k", "5k", "7.5k", "10k", "12.5k"], axis.Ticks.Select(axis.Label));
    }

    [Fact]
    public void Percent_axes_run_zero_to_one_hundred_and_latency_switches_to_seconds()
    {
        var percent = ChartAxis.Fit(ChartUnit.Percent, 99.5);
        var wait = ChartAxis.Fit(ChartUnit.Milliseconds, 2_400);

        Assert.Equal(["0 %", "25 %", "50 %", "75 %", "100 %"], percent.Ticks.Select(percent.Label));
        Assert.Equal(["0 ms", "500 ms", "1 s", "1.5 s", "2 s", "2.5 s"], wait.Ticks.Select(wait.Label));
    }

    [Theory]
    [InlineData(0.0004, ChartUnit.Usd, "$0.0004")]
    [InlineData(1234.5, ChartUnit.Usd, "$1.23k")]
    [InlineData(12.5, ChartUnit.Usd, "$12.50")]
    [InlineData(245_760, ChartUnit.Tokens, "246k")]
    [InlineData(7, ChartUnit.Count, "7")]
    [InlineData(99.95, ChartUnit.Percent, "99.95 %")]
    public void A_data_table_value_keeps_its_precision_in_the_charts_unit(double value, ChartUnit unit, string expected)
    {
        Assert.Equal(expected, ChartAxis.Format(value, unit));
    }

    [Fact]
    public void An_axis_always_reaches_the_largest_value_in_one_to_five_steps()
    {
        foreach (var largest in new[] { 0.0, 0.003, 0.38, 1, 3, 17, 99, 101, 999, 1_001, 12_345, 245_760, 9_876_543 })
        {
            var axis = ChartAxis.Fit(ChartUnit.Count, largest);
            Assert.True(axis.Max >= largest, $"{largest}: axis ends at {axis.Max}");
            Assert.InRange(axis.Ticks.Count - 1, 1, ChartAxis.Intervals + 1);
        }
    }
}
