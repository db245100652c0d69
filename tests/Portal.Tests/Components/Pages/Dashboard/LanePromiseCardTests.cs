using Bunit;
using Lanes.Billing.LaneCredits;
using Lanes.Portal.Components.Pages.Dashboard;
using Lanes.Shared.Plans;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Dashboard;

public class LanePromiseCardTests
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);

    private static async Task<string> RenderAsync(PromiseFigures figures)
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        var card = ctx.Render<LanePromiseCard>(p => p
            .Add(c => c.Figures, figures).Add(c => c.Slo, LaneSlo.Default).Add(c => c.MonthlyFeeUsd, 50m)
            .Add(c => c.ReservedLanes, 6).Add(c => c.PeriodStart, Start).Add(c => c.Now, Start.AddDays(10)));
        return card.Find(".lane-promise").TextContent;
    }

    [Fact]
    public async Task A_period_on_target_says_so_and_owes_no_credit()
    {
        var text = await RenderAsync(new PromiseFigures(20_000, 19_990));

        Assert.Contains("99.95 % honoured", text);
        Assert.Contains("19,990 of 20,000 requests within your reservation started on time since 2 Nov", text);
        Assert.Contains("On track", text);
        Assert.Contains("fewer than your 6 reserved lanes are busy starts within 250 ms", text);
    }

    [Fact]
    public async Task A_period_below_target_shows_the_credit_it_would_earn_now()
    {
        var text = await RenderAsync(new PromiseFigures(1_000, 985));

        Assert.Contains("98.5 % honoured", text);
        Assert.Contains("you would be credited $12.50 (25 % of your $50.00 fee)", text);
    }

    [Fact]
    public async Task A_period_without_requests_in_reservation_claims_nothing()
    {
        var text = await RenderAsync(new PromiseFigures(0, 0));

        Assert.Contains("No requests within your reservation yet this period", text);
        Assert.DoesNotContain("honoured", text);
    }
}
