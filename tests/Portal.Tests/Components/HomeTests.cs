using Bunit;
using Lanes.Portal.Components.Pages.Pricing;
using Lanes.Shared.Plans;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components;

public class HomeTests
{
    [Fact]
    public async Task Each_tier_shows_its_lanes_window_and_price()
    {
        // MudBlazor's services only dispose asynchronously, hence a context per test rather than a base class.
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Services.AddSingleton(new PlanCatalog(
        [
            new PlanTier("small", "Small", 9m, 1, 100, 2m, TimeSpan.FromHours(4), []),
            new PlanTier("custom", "Custom", 0m, 40, 9999, 50m, TimeSpan.FromHours(8), [], SelfServe: false),
        ]));

        var page = ctx.Render<Home>();

        var cards = page.FindAll(".plan-card");
        Assert.Equal(2, cards.Count);
        Assert.Contains("$9/mo", cards[0].TextContent);
        Assert.Contains("1 reserved lanes", cards[0].TextContent);
        Assert.Contains("4-hour window", cards[0].TextContent);
        Assert.Contains("Talk to us", cards[1].TextContent);
        Assert.DoesNotContain("$0/mo", cards[1].TextContent);
    }
}
