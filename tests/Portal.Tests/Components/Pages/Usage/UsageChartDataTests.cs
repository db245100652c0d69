using Lanes.Billing.Usage;
using Lanes.Portal.Components.Pages.Usage;

namespace Lanes.Portal.Tests.Components.Pages.Usage;

public class UsageChartDataTests
{
    private static readonly DateTimeOffset Monday = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    /// <summary>Long after every bucket of these reports has ended.</summary>
    private static readonly DateTimeOffset Later = Monday.AddDays(30);

    private static UsageReport Report(UsageGranularity granularity, int buckets, params UsageHour[] hours)
    {
        var step = granularity == UsageGranularity.Hour ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);
        return UsageReports.Build(new UsageQuery(Monday, Monday + step * (buckets - 1), granularity), hours);
    }

    [Fact]
    public void The_lane_promise_charts_split_on_time_from_late_and_leave_an_hour_without_such_requests_as_a_gap()
    {
        var detail = UsageDetail.Empty with { WithinReservation = 4, Honoured = 3, ReservedWaitCounts = [3, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0] };
        var report = Report(UsageGranularity.Hour, 2, new UsageHour { HourStart = Monday, Model = "m", Requests = 4, Detail = detail });

        var charts = UsageChartData.Charts(report, reservedLanes: 2, Later);

        var split = charts.Single(c => c.Title == "Lane promise: requests within your reservation");
        Assert.Equal(new double?[] { 3, 0 }, split.Series.Single(s => s.Name == "Started on time").Values);
        Assert.Equal(new double?[] { 1, 0 }, split.Series.Single(s => s.Name == "Late or refused").Values);
        Assert.Equal(new double?[] { 75, null }, charts.Single(c => c.Title == "Lane promise honoured").Series[0].Values);
        var waits = charts.Single(c => c.Title == "Admission wait within reservation");
        Assert.Equal(new double?[] { 5, null }, waits.Series.Single(s => s.Name == "p50").Values);
        Assert.Equal(new double?[] { 2500, null }, waits.Series.Single(s => s.Name == "p99").Values);
    }

    [Fact]
    public void Every_chart_has_one_value_per_point_and_refusals_are_split_by_cause()
    {
        var refused = UsageDetail.Refused(RefusalCause.Budget).Add(UsageDetail.Refused(RefusalCause.Lanes)).Add(UsageDetail.Refused(RefusalCause.Lanes));
        var report = Report(UsageGranularity.Hour, 3, new UsageHour { HourStart = Monday.AddHours(1), Model = "m", Requests = 5, InputTokens = 50, OutputTokens = 20, SpendUsd = 0.25m, Throttled = 3, Detail = refused });

        var charts = UsageChartData.Charts(report, reservedLanes: 2, Later);

        Assert.All(charts, c => Assert.All(c.Series, s => Assert.Equal(3, s.Values.Length)));
        var refusals = charts.Single(c => c.Title.StartsWith("429", StringComparison.Ordinal));
        Assert.Equal(new double?[] { 0, 1, 0 }, refusals.Series.Single(s => s.Name == "Budget spent").Values);
        Assert.Equal(new double?[] { 0, 2, 0 }, refusals.Series.Single(s => s.Name == "No lane in time").Values);
        Assert.Equal(new double?[] { 0, 5, 0 }, charts.Single(c => c.Title == "Requests").Series[0].Values);
        Assert.Equal(new double?[] { 0, 0.25, 0 }, charts.Single(c => c.Title == "Spend equivalent").Series[0].Values);
        Assert.Equal(new double?[] { 0, 3, 0 }, charts.Single(c => c.Title == "Requests by API").Series.Single(s => s.Name == "Chat Completions").Values);
        Assert.Equal(ChartKind.Bars, charts.Single(c => c.Title == "Requests").Kind);
    }

    [Fact]
    public void Utilisation_is_lane_time_over_reserved_lane_time_per_point_capped_at_100_percent()
    {
        var busy = new UsageHour { HourStart = Monday, Model = "m", Requests = 1, Detail = UsageDetail.Served(TimeSpan.FromMilliseconds(40), TimeSpan.FromMinutes(90)) };
        var report = Report(UsageGranularity.Hour, 1, busy);

        var utilisation = UsageChartData.Charts(report, reservedLanes: 2, Later).Single(c => c.Title == "Lane utilisation").Series[0].Values;
        var overbooked = UsageChartData.Charts(report, reservedLanes: 1, Later).Single(c => c.Title == "Lane utilisation").Series[0].Values;
        var wait = UsageChartData.Charts(report, reservedLanes: 2, Later).Single(c => c.Title == "Queue wait p95").Series[0].Values;

        Assert.Equal(new double?[] { 75.0 }, utilisation);
        Assert.Equal(new double?[] { 100.0 }, overbooked);
        Assert.Equal(new double?[] { 100.0 }, wait);
    }

    [Fact]
    public void The_running_hour_is_marked_partial_and_counts_only_its_time_so_far_and_later_hours_are_gaps()
    {
        // 20 lane-minutes in the first 20 minutes of an hour on one lane: fully used so far, not a third used.
        var busy = new UsageHour { HourStart = Monday.AddHours(1), Model = "m", Requests = 2, Detail = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromMinutes(20)) };
        var report = Report(UsageGranularity.Hour, 3, busy);
        var now = Monday.AddHours(1).AddMinutes(20);

        var frame = UsageChartData.Frame(report, now);
        var charts = UsageChartData.Charts(report, reservedLanes: 1, now);

        Assert.Equal(1, frame.Partial);
        Assert.Equal(new double?[] { 0, 100, null }, charts.Single(c => c.Title == "Lane utilisation").Series[0].Values);
        Assert.Equal(new double?[] { 0, 2, null }, charts.Single(c => c.Title == "Requests").Series[0].Values);
        Assert.Null(UsageChartData.Frame(report, Later).Partial);
    }

    [Fact]
    public void Long_hourly_ranges_label_at_most_eight_ticks_on_round_hours_and_mark_each_new_day()
    {
        var report = Report(UsageGranularity.Hour, 48);

        var labels = UsageChartData.Frame(report, Later).Labels;

        Assert.Equal(48, labels.Count);
        Assert.Equal(8, labels.Count(l => l.Length > 0));
        Assert.Equal(("2 Nov", "06:00", "3 Nov", "18:00"), (labels[0], labels[6], labels[24], labels[42]));
    }

    [Fact]
    public void An_hourly_week_that_starts_in_the_afternoon_is_labelled_at_each_midnight_by_date()
    {
        var from = Monday.AddHours(17);
        var report = UsageReports.Build(new UsageQuery(from, from.AddHours(167), UsageGranularity.Hour), []);

        var ticks = UsageChartData.Frame(report, Later).Labels.Where(l => l.Length > 0).ToList();

        Assert.Equal(["3 Nov", "4 Nov", "5 Nov", "6 Nov", "7 Nov", "8 Nov", "9 Nov"], ticks);
    }

    [Fact]
    public void Daily_points_are_labelled_by_date()
    {
        Assert.Equal(["2 Nov", "3 Nov", "4 Nov"], UsageChartData.Frame(Report(UsageGranularity.Day, 3), Later).Labels);
    }
}
