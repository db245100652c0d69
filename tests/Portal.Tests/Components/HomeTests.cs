using Bunit;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Portal.Components.Pages.Pricing;
using Lanes.Shared.Plans;
using Lanes.Shared.Pricing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components;

public class HomeTests
{
    private static BunitContext Context(bool stripe = false)
    {
        // MudBlazor's services only dispose asynchronously, hence a context per test rather than a base class.
        var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Services.AddSingleton(new PlanCatalog(
        [
            new PlanTier("small", "Small", 9m, 1, 100, 2m, TimeSpan.FromHours(4), []),
            new PlanTier("coder", "Coder", 30m, 3, 900, 10m, TimeSpan.FromHours(8), ["qwen-coder"]),
            new PlanTier("custom", "Custom", 0m, 40, 9999, 50m, TimeSpan.FromHours(8), [], SelfServe: false),
        ]));
        ctx.Services.AddSingleton(new PriceTable(
        [
            new ModelPrice("qwen-coder", 0.2m, 0.6m, "test", new DateOnly(2026, 1, 1)),
            new ModelPrice("llama-small", 0.1m, 0.1m, "test", new DateOnly(2026, 1, 1)),
        ]));
        ctx.Services.AddSingleton(new BillingModeInfo(Options.Create(new StripeOptions { SecretKey = stripe ? "sk_test_x" : null })));
        ctx.Services.AddSingleton(Options.Create(new InternalBillingOptions { TrialPlan = "small", TrialLength = TimeSpan.FromDays(14) }));
        return ctx;
    }

    [Fact]
    public async Task Each_tier_shows_its_lanes_window_models_and_price()
    {
        await using var ctx = Context();

        var page = ctx.Render<Home>();

        var cards = page.FindAll(".plan-card");
        Assert.Equal(3, cards.Count);
        Assert.Contains("$9/month", cards[0].TextContent);
        Assert.Contains("1 reserved lane:", cards[0].TextContent);
        Assert.Contains("100 requests per 4-hour window (600 a day)", cards[0].TextContent);
        Assert.Contains("every model we serve (llama-small, qwen-coder)", cards[0].QuerySelector(".plan-models")!.TextContent);
        Assert.Equal("Models: qwen-coder", cards[1].QuerySelector(".plan-models")!.TextContent.Trim());
        Assert.Contains("Talk to us", cards[2].TextContent);
        Assert.DoesNotContain("$0/month", cards[2].TextContent);
    }

    [Fact]
    public async Task A_keys_budget_reads_as_a_spending_cap_and_never_as_a_charge()
    {
        await using var ctx = Context();

        var budget = ctx.Render<Home>().FindAll(".plan-budget")[0].TextContent;

        Assert.Contains("$2 budget per key per window", budget);
        Assert.Contains("a spending cap", budget);
        Assert.Contains("never a charge", budget);
    }

    [Fact]
    public async Task The_trial_button_says_how_long_the_trial_runs_and_its_terms_are_beside_it()
    {
        await using var ctx = Context();

        var page = ctx.Render<Home>();

        Assert.Equal("Start a 14-day free trial", page.Find(".start-trial").TextContent.Trim());
        Assert.Contains("runs Small with 1 lane for 14 days. No card needed; it ends on its own", page.Find(".trial-terms").TextContent);
    }

    [Fact]
    public async Task With_stripe_checkout_there_is_no_trial_promised()
    {
        await using var ctx = Context(stripe: true);

        var page = ctx.Render<Home>();

        Assert.Equal("Create an account", page.Find(".start-trial").TextContent.Trim());
        Assert.DoesNotContain("trial", page.Find(".trial-terms").TextContent, StringComparison.OrdinalIgnoreCase);
    }
}
