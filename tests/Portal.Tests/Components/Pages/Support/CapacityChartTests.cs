using Lanes.Billing.Capacity;
using Lanes.Portal.Components.Pages.Support;

namespace Lanes.Portal.Tests.Components.Pages.Support;

public class CapacityChartTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    private static CapacitySnapshot At(int minutes, int sellable, int sold, int live) =>
        new(Guid.NewGuid(), Start.AddMinutes(minutes), sellable, sold, live, Math.Max(0, sold - live), null, []);

    private static CapacityReport Now(int sellable, int sold, int live) =>
        new(CapacitySource.Fleet, [new PoolReport(new PoolCapacity("default", CapacitySource.Fleet, [], live, null, 0, sellable, 0), sold, 0, ["pro"], [])]);

    [Fact]
    public void The_chart_ends_with_the_ledger_now_and_shows_a_lost_gateway_as_live_falling_below_sold()
    {
        var (chart, frame) = CapacityChart.Of([At(0, 16, 12, 16), At(1, 16, 12, 16)], Now(8, 12, 8), Start.AddMinutes(2));

        Assert.Equal(["Sellable", "Sold", "Live slots"], chart.Series.Select(s => s.Name));
        Assert.Equal([16d, 16d, 8d], chart.Series[0].Values);
        Assert.Equal([16d, 16d, 8d], chart.Series[2].Values);
        Assert.Equal(["00:00", "00:01", "00:02"], frame.Labels);
        // Lanes are whole: the axis is fitted to them, not MudBlazor's default 0-20.
        Assert.Equal([0d, 5, 10, 15, 20], chart.Axis.Ticks);
    }

    [Fact]
    public void A_day_of_minutes_is_at_most_forty_eight_points_each_the_ledger_at_the_end_of_its_bucket()
    {
        var day = Enumerable.Range(0, 1440).Select(m => At(m, 16, m < 720 ? 6 : 12, 16)).ToList();

        var (chart, _) = CapacityChart.Of(day, Now(16, 12, 16), Start.AddDays(1));

        Assert.InRange(chart.Series[1].Values.Length, 24, CapacityChart.MaxPoints + 1);
        Assert.Equal((6d, 12d), (chart.Series[1].Values[0], chart.Series[1].Values[^1]));
    }

    [Fact]
    public void A_pools_chart_shows_that_pools_figures_and_leaves_out_snapshots_taken_before_pools()
    {
        var beforePools = At(0, 16, 6, 16);
        var withPools = At(1, 24, 10, 24) with
        {
            Pools = [new PoolSnapshot("default", 16, 6, 16, 0, null, ["a"]), new PoolSnapshot("qwen-72b", 8, 4, 8, 0, null, ["b"])],
        };
        var now = new CapacityReport(CapacitySource.Fleet,
        [
            new PoolReport(new PoolCapacity("default", CapacitySource.Fleet, [], 16, null, 0, 16, 0), 6, 0, ["pro"], []),
            new PoolReport(new PoolCapacity("qwen-72b", CapacitySource.Fleet, [], 0, null, 0, 0, 0), 8, 0, ["big"], []),
        ]);

        var (pool, _) = CapacityChart.Of([beforePools, withPools], now, Start.AddMinutes(2), "qwen-72b");
        var (fleet, _) = CapacityChart.Of([beforePools, withPools], now, Start.AddMinutes(2));

        Assert.Equal([8d, 0d], pool.Series[0].Values);     // sellable: the pool's gateway is gone now
        Assert.Equal([4d, 8d], pool.Series[1].Values);     // sold
        Assert.Equal([8d, 0d], pool.Series[2].Values);     // live
        Assert.Equal([16d, 24d, 16d], fleet.Series[0].Values);
    }
}
