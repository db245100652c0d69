using Bunit;
using Lanes.Billing.LaneCredits;
using Lanes.Portal.Components.Pages.Billing;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Billing;

public class ServiceCreditsTests
{
    private static readonly DateTimeOffset At = new(2026, 12, 2, 10, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Credits_are_listed_newest_first_with_their_period_and_a_reversed_one_says_why()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ServiceCredit[] credits =
        [
            new(Guid.NewGuid(), 12.50m, At.AddDays(-30), "98.5 % of within-reservation requests honoured against 99.9 %: 25 % of the monthly fee", At.AddDays(-61), At.AddDays(-31), "cbtxn_1"),
            new(Guid.NewGuid(), 20m, At, "Outage on 1 Dec", null, null, null, At.AddHours(1), "Granted twice"),
        ];

        var list = ctx.Render<ServiceCredits>(p => p.Add(c => c.Credits, (IReadOnlyList<ServiceCredit>)credits).Add(c => c.Stripe, true));

        var rows = list.FindAll(".service-credits tbody tr");
        Assert.Equal(2, rows.Count);
        Assert.Contains("$20.00", rows[0].TextContent);
        Assert.Contains("Reversed 2 Dec 2026: Granted twice", rows[0].TextContent);
        Assert.Contains("$12.50", rows[1].TextContent);
        Assert.Contains("Period 2 Oct – 1 Nov 2026", rows[1].TextContent);
        Assert.Contains("On your Stripe balance", rows[1].TextContent);
    }

    [Fact]
    public async Task Without_credits_it_says_when_one_would_appear()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;

        var list = ctx.Render<ServiceCredits>(p => p.Add(c => c.Credits, (IReadOnlyList<ServiceCredit>)Array.Empty<ServiceCredit>()).Add(c => c.Stripe, false));

        Assert.Contains("deducted from your next invoice automatically", list.Find(".service-credits-empty").TextContent);
    }
}
