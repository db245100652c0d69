using Bunit;
using Lanes.Portal.Components.Pages.Pricing;
using Lanes.Shared.Plans;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Pricing;

public class CalculatorTests
{
    private static BunitContext Context()
    {
        var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Services.AddSingleton(new PlanCatalog(PlanCatalog.Defaults));
        return ctx;
    }

    [Fact]
    public async Task A_plan_too_small_for_the_workload_is_never_shown_as_saving_money()
    {
        await using var ctx = Context();
        var page = ctx.Render<Calculator>();

        // 20,000 requests a day: Starter allows 2,000 per 8-hour window, 6,000 a day.
        page.Find(".calc-requests input").Input("20000");

        var starterCells = page.FindAll(".calc-compare[data-plan=starter]");
        Assert.NotEmpty(starterCells);
        Assert.All(starterCells, cell =>
        {
            Assert.Contains("too small", cell.TextContent);
            Assert.DoesNotContain("saves", cell.TextContent);
        });
        var starter = page.Find(".calc-plan[data-plan=starter]");
        Assert.Equal("TooFewRequests", starter.GetAttribute("data-fit"));
        Assert.Contains("allows 6,000 of your 20,000 requests a day", starter.TextContent);
        Assert.Equal("Pro", page.Find(".calc-best").TextContent);
    }

    [Fact]
    public async Task Every_plan_too_small_sends_the_customer_to_enterprise_instead_of_naming_a_plan()
    {
        await using var ctx = Context();
        var page = ctx.Render<Calculator>();

        page.Find(".calc-requests input").Input("1000000");

        Assert.Contains("No self-serve plan carries this workload", page.Find(".calc-verdict").TextContent);
        Assert.Empty(page.FindAll(".calc-saves"));
        Assert.Empty(page.FindAll(".calc-best"));
    }

    [Fact]
    public async Task A_plan_that_carries_the_workload_shows_its_saving_and_says_when_the_peak_waits_for_a_lane()
    {
        await using var ctx = Context();
        var page = ctx.Render<Calculator>();

        // 5,000 a day, 4 at once: Starter (2 lanes) carries the day, but at the peak 2 of 4 wait.
        Assert.Equal("Starter", page.Find(".calc-best").TextContent);
        Assert.Contains("2 of 4 requests wait for a lane", page.Find(".calc-verdict").TextContent);
        Assert.Contains(page.FindAll(".calc-compare[data-plan=starter]"), cell => cell.TextContent.Contains("saves $", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_impossible_workload_is_explained_and_no_verdict_is_shown()
    {
        await using var ctx = Context();
        var page = ctx.Render<Calculator>();

        page.Find(".calc-requests input").Input("200000000");

        // The reason is on the field it concerns, marked invalid for screen readers, and no verdict is guessed.
        Assert.Contains("Requests per day are between 0 and 100,000,000", page.Find(".calc-requests .mud-input-helper-text").TextContent);
        Assert.Equal("true", page.Find(".calc-requests input").GetAttribute("aria-invalid"));
        Assert.Empty(page.FindAll(".calc-peak .mud-input-error"));
        Assert.Empty(page.FindAll(".calc-verdict"));
    }
}
