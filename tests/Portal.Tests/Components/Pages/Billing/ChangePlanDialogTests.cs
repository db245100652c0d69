using Bunit;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Portal.Components.Pages.Billing;
using Lanes.Shared.Plans;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Billing;

public class ChangePlanDialogTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_yen_preview_shows_whole_yen_and_the_credit_with_a_minus_and_the_price_now_beside_the_new_one()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Services.AddSingleton(new PlanCatalog(PlanCatalog.Defaults));
        var provider = ctx.Render<MudDialogProvider>();
        var current = new Subscription { PlanId = "starter", PlanLanes = 2, RequestsPerWindow = 2_000, Status = SubscriptionStatus.Active, PeriodEnd = Now.AddDays(20) };
        var preview = new PlanChangePreview("starter", "team", 4_100, "jpy", Now, Immediate: true, Now,
            [new PreviewLine("Unused time on Starter", -900), new PreviewLine("Remaining time on Team", 5_000)]);
        var parameters = new DialogParameters<ChangePlanDialog>
        {
            { d => d.Current, current },
            { d => d.To, PlanCatalog.Defaults.Single(p => p.Id == "team") },
            { d => d.Preview, preview },
            { d => d.Now, Now },
        };

        await provider.InvokeAsync(() => ctx.Services.GetRequiredService<IDialogService>().ShowAsync<ChangePlanDialog>("Switch to Team", parameters));

        var lines = provider.FindAll(".change-line").Select(l => l.TextContent).ToList();
        Assert.Contains(lines, l => l.Contains("-JPY 900", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("JPY 5,000", StringComparison.Ordinal));
        Assert.StartsWith("JPY 4,100 ", provider.Find(".change-amount").TextContent);

        // The price the customer pays now beside the one it will pay, not the new one alone.
        Assert.Equal("$20 → $250", provider.Find(".change-price").TextContent.Trim());
    }
}
