using Lanes.Billing.Usage;

namespace Lanes.Billing.Tests.Usage;

public class UsageReportSpecs
{
    private static readonly DateTimeOffset Monday = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Hourly_points_cover_every_hour_of_the_range_with_zeros_where_nothing_ran()
    {
        var query = new UsageQuery(Monday.AddHours(9).AddMinutes(30), Monday.AddHours(12).AddMinutes(5), UsageGranularity.Hour);

        var report = UsageReports.Build(query, [Hour(Monday.AddHours(10), requests: 4, spend: 0.5m)]);

        Assert.Equal([9, 10, 11, 12], report.Points.Select(p => p.Start.Hour));
        Assert.Equal([0L, 4L, 0L, 0L], report.Points.Select(p => p.Requests));
        Assert.Equal(0.5m, report.SpendUsd);
    }

    [Fact]
    public void Daily_points_add_up_the_hours_of_each_utc_day()
    {
        var query = new UsageQuery(Monday, Monday.AddDays(1).AddHours(3), UsageGranularity.Day);

        var report = UsageReports.Build(query,
        [
            Hour(Monday.AddHours(1), requests: 2, spend: 0.25m),
            Hour(Monday.AddHours(23), requests: 3, spend: 0.25m, model: "other"),
            Hour(Monday.AddDays(1).AddHours(2), requests: 5, spend: 1m),
        ]);

        Assert.Equal([5L, 5L], report.Points.Select(p => p.Requests));
        Assert.Equal([0.5m, 1m], report.Points.Select(p => p.SpendUsd));
        Assert.Equal(["lanes-demo", "other"], report.Models.Select(m => m.Model));
        Assert.Equal(7, report.Models[0].Requests);
    }

    [Fact]
    public void Queue_wait_p95_is_the_bucket_bound_under_which_95_percent_of_admissions_waited()
    {
        var fast = Enumerable.Range(0, 95).Aggregate(UsageDetail.Empty, (d, _) => d.Add(UsageDetail.Served(TimeSpan.FromMilliseconds(3), TimeSpan.FromSeconds(1))));
        var withSlow = Enumerable.Range(0, 6).Aggregate(fast, (d, _) => d.Add(UsageDetail.Served(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1))));

        Assert.Equal(0.005, fast.QueueWaitP95Seconds());
        Assert.Equal(2.5, withSlow.QueueWaitP95Seconds());
        Assert.Equal(101, withSlow.LaneSeconds);
        Assert.Null(UsageDetail.Empty.QueueWaitP95Seconds());
    }

    [Fact]
    public void Refusals_are_counted_by_cause()
    {
        var detail = UsageDetail.Refused(RefusalCause.Budget).Add(UsageDetail.Refused(RefusalCause.Lanes)).Add(UsageDetail.Refused(RefusalCause.Lanes));

        Assert.Equal((1L, 0L, 2L), (detail.BudgetRefusals, detail.RequestRefusals, detail.LaneRefusals));
    }

    [Fact]
    public void Lane_utilisation_is_lane_time_used_over_lane_time_reserved_so_far()
    {
        var query = new UsageQuery(Monday, Monday.AddHours(1), UsageGranularity.Hour);
        var busy = Hour(Monday, requests: 10, spend: 0m) with { Detail = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromMinutes(60)) };

        var report = UsageReports.Build(query, [busy]);

        // 3,600 lane-seconds over two reserved lanes for the first hour (the second has not started yet).
        Assert.Equal(0.5, report.LaneUtilisation(reservedLanes: 2, now: Monday.AddHours(1)));
    }

    [Fact]
    public void Ranges_too_long_for_their_granularity_or_reversed_are_refused()
    {
        Assert.Equal("invalid_range", Assert.Throws<RuleViolation>(() => new UsageQuery(Monday, Monday.AddDays(40), UsageGranularity.Hour).Validate()).Code);
        Assert.Equal("invalid_range", Assert.Throws<RuleViolation>(() => new UsageQuery(Monday, Monday.AddDays(-1), UsageGranularity.Day).Validate()).Code);
        new UsageQuery(Monday, Monday.AddDays(40), UsageGranularity.Day).Validate();
    }

    [Fact]
    public void Csv_has_a_header_and_one_invariant_culture_row_per_point()
    {
        var query = new UsageQuery(Monday, Monday.AddHours(1), UsageGranularity.Hour);
        var csv = UsageReports.Build(query, [Hour(Monday, requests: 3, spend: 1.5m)]).ToCsv().Split('\n', StringSplitOptions.RemoveEmptyEntries);

        Assert.StartsWith("start_utc,requests,input_tokens", csv[0]);
        Assert.Equal(3, csv.Length);
        Assert.StartsWith("2026-11-02T00:00:00Z,3,30,15,1.5,", csv[1]);
    }

    [Fact]
    public void Requests_are_counted_per_api_in_points_and_csv_and_older_usage_counts_as_none()
    {
        var query = new UsageQuery(Monday.AddHours(9), Monday.AddHours(11), UsageGranularity.Hour);
        var detail = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromSeconds(1), ApiDoor.Messages)
            .Add(UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromSeconds(1), ApiDoor.Messages))
            .Add(UsageDetail.Refused(RefusalCause.Budget, ApiDoor.Responses));
        var before = UsageDetail.Served(TimeSpan.Zero, TimeSpan.Zero) with { RequestsByApi = null };

        var report = UsageReports.Build(query, [Hour(Monday.AddHours(9), 2, 0.1m) with { Detail = detail }, Hour(Monday.AddHours(10), 1, 0.1m) with { Detail = before }]);

        Assert.Equal([0L, 0L, 1L, 2L], report.Points[0].RequestsByApi);
        Assert.Equal([0L, 0L, 0L, 0L], report.Points[1].RequestsByApi);
        var csv = report.ToCsv().Split('\n');
        Assert.Contains("requests_chat_completions,requests_completions,requests_responses,requests_messages,", csv[0]);
        Assert.Contains(",0,0,1,2,", csv[1]);
    }

    [Fact]
    public void The_lane_promise_is_summed_per_point_with_its_waits_the_peak_lanes_are_the_largest_and_all_are_exported_in_the_csv()
    {
        var query = new UsageQuery(Monday.AddHours(9), Monday.AddHours(11), UsageGranularity.Hour);
        var kept = UsageDetail.Empty with { WithinReservation = 3, Honoured = 3, ReservedWaitCounts = [3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], PeakLanes = 5 };
        var missed = UsageDetail.Empty with { WithinReservation = 1, Honoured = 0, ReservedWaitCounts = [0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0], PeakLanes = 3 };

        var report = UsageReports.Build(query, [Hour(Monday.AddHours(9), 3, 0.1m) with { Detail = kept }, Hour(Monday.AddHours(9), 1, 0.1m, "other") with { Detail = missed }]);

        Assert.Equal((4L, 3L, 75.0), (report.Points[0].WithinReservation, report.Points[0].Honoured, report.Points[0].HonouredPercent));
        Assert.Equal((0.005, 2.5), (report.Points[0].ReservedWaitP50Seconds, report.Points[0].ReservedWaitP99Seconds));
        Assert.Null(report.Points[1].HonouredPercent);
        Assert.Equal((5, 0, 5), (report.Points[0].PeakLanes, report.Points[1].PeakLanes, report.Totals.PeakLanes));
        var csv = report.ToCsv().Split('\n');
        Assert.EndsWith(",within_reservation,honoured,honoured_pct,reserved_wait_p50_s,reserved_wait_p99_s,peak_lanes", csv[0]);
        Assert.EndsWith(",4,3,75,0.005,2.5,5", csv[1]);
        Assert.EndsWith(",0,0,,,,0", csv[2]);
    }

    private static UsageHour Hour(DateTimeOffset at, long requests, decimal spend, string model = "lanes-demo") => new()
    {
        Model = model,
        HourStart = at,
        Requests = requests,
        InputTokens = requests * 10,
        OutputTokens = requests * 5,
        SpendUsd = spend,
    };
}
