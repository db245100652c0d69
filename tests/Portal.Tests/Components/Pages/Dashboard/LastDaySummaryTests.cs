using Bunit;
using Lanes.Billing.Usage;
using Lanes.Portal.Components.Pages.Dashboard;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Dashboard;

public class LastDaySummaryTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 0, 0, 0, TimeSpan.Zero);

    private static UsageReport Day(params UsageHour[] hours) =>
        UsageReports.Build(new UsageQuery(Start, Start.AddHours(23), UsageGranularity.Hour), hours);

    [Fact]
    public async Task The_peak_is_the_most_lanes_running_at_once_across_keys_and_hours_against_the_reservation_with_requests_left()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        // Two keys in one hour, one in another: the peak is the largest any of them saw, not their sum or an average.
        var report = Day(
            new UsageHour { HourStart = Start.AddHours(9), KeyId = Guid.NewGuid(), Model = "m", Requests = 40, Detail = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromMinutes(30)) with { PeakLanes = 4 } },
            new UsageHour { HourStart = Start.AddHours(9), KeyId = Guid.NewGuid(), Model = "m", Requests = 10, Detail = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromMinutes(5)) with { PeakLanes = 5 } },
            new UsageHour { HourStart = Start.AddHours(14), KeyId = Guid.NewGuid(), Model = "m", Requests = 2, Detail = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromMinutes(1)) with { PeakLanes = 1 } });

        var card = ctx.Render<LastDaySummary>(p => p.Add(c => c.Report, report).Add(c => c.ReservedLanes, 6)
            .Add(c => c.RequestsLeft, 9_950).Add(c => c.RequestsPerWindow, 10_000));

        Assert.Equal("Peak lanes used", card.Find(".last-day-peak .stat-label").TextContent.Trim());
        Assert.Equal("5 of 6 lanes", card.Find(".last-day-peak .stat-value").TextContent);
        Assert.Contains("1 lane never needed", card.Find(".last-day-peak").TextContent);
        Assert.Equal("9,950", card.Find(".requests-left .stat-value").TextContent);
        Assert.Contains("of 10,000 this window", card.Find(".requests-left").TextContent);
    }

    [Fact]
    public async Task Refusals_are_counted_by_cause_and_without_recorded_peaks_the_busiest_hours_average_is_shown()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        var refused = UsageDetail.Refused(RefusalCause.Budget).Add(UsageDetail.Refused(RefusalCause.Lanes)).Add(UsageDetail.Refused(RefusalCause.Lanes));
        var busy = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromHours(3)); // 3 lane-hours in one hour: 3 lanes on average
        var report = Day(
            new UsageHour { HourStart = Start.AddHours(9), Model = "m", Requests = 40, Detail = busy },
            new UsageHour { HourStart = Start.AddHours(10), Model = "m", Requests = 3, Throttled = 3, Detail = refused });

        var card = ctx.Render<LastDaySummary>(p => p.Add(c => c.Report, report).Add(c => c.ReservedLanes, 6));

        Assert.Equal("3 of 6 lanes", card.Find(".last-day-peak .stat-value").TextContent);
        Assert.Equal("1", card.Find(".last-day-refused-budget .stat-value").TextContent);
        Assert.Equal("2", card.Find(".last-day-refused-lanes .stat-value").TextContent);
        Assert.Equal("0", card.Find(".last-day-refused-requests .stat-value").TextContent);
        Assert.Contains("3 requests refused with 429", card.Find(".last-day-verdict").TextContent);
    }

    [Fact]
    public async Task A_day_without_refusals_or_waits_says_all_clear_and_one_that_waited_says_more_lanes_would_help()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        var quick = new UsageHour { HourStart = Start.AddHours(9), Model = "m", Requests = 1, Detail = UsageDetail.Served(TimeSpan.FromMilliseconds(3), TimeSpan.FromSeconds(5)) };
        var slow = new UsageHour { HourStart = Start.AddHours(10), Model = "m", Requests = 1, Detail = UsageDetail.Served(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(5)) };

        var clear = ctx.Render<LastDaySummary>(p => p.Add(c => c.Report, Day(quick)).Add(c => c.ReservedLanes, 2));
        var waited = ctx.Render<LastDaySummary>(p => p.Add(c => c.Report, Day(quick, slow)).Add(c => c.ReservedLanes, 2));

        Assert.StartsWith("All clear", clear.Find(".last-day-verdict").TextContent);
        Assert.Contains("1 request waited over 100 ms for a lane", waited.Find(".last-day-verdict").TextContent);
    }
}
