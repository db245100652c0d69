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
    public async Task Refusals_are_counted_by_cause_and_the_busiest_hour_is_shown_against_the_reservation()
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
