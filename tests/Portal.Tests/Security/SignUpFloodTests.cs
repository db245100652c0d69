using System.Net;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;
using Lanes.Portal.Tests.Account;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Security;

[Collection(PortalHosts.Name)]
public class SignUpFloodTests(PortalForTheSignUpFlood portal) : IClassFixture<PortalForTheSignUpFlood>
{
    [Fact]
    public async Task Sixty_scripted_sign_ups_hold_no_lanes_leave_no_orphans_and_are_cut_off_whatever_address_they_claim()
    {
        var (soldBefore, _) = await portal.Get<SubscriptionService>().CapacityAsync();
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 60; i++)
        {
            using var bot = portal.Browser();
            // A forwarded-for header from a client that is not a configured proxy must not buy a fresh limit.
            bot.DefaultRequestHeaders.Add("X-Forwarded-For", $"203.0.113.{i}");
            statuses.Add((await bot.RegisterAsync($"Bot {i} {Guid.NewGuid():N}"[..20], $"bot-{i}-{Guid.NewGuid():N}@spam.test", "Correct-Horse-9")).StatusCode);
        }

        var created = statuses.Count(s => s == HttpStatusCode.Redirect);
        Assert.Equal(10, created); // RateLimits:SignUpsPerHourPerAddress
        Assert.Equal(50, statuses.Count(s => s == HttpStatusCode.TooManyRequests));

        // Unconfirmed sign-ups hold no lanes, and every user that exists has its organisation.
        Assert.Equal(soldBefore, (await portal.Get<SubscriptionService>().CapacityAsync()).Allocated);
        await using var scope = portal.Services.CreateAsyncScope();
        var bots = await scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>().Users.Where(u => u.Email!.EndsWith("@spam.test")).ToListAsync();
        Assert.Equal(created, bots.Count);
        foreach (var bot in bots)
        {
            Assert.Single(await portal.Get<TenantService>().MembershipsOfAsync(bot.Id));
        }

        // Paid capacity is untouched: a customer can still buy the largest self-serve plan.
        var buyer = await portal.Get<TenantService>().CreateAsync($"b-{Guid.NewGuid():N}"[..20], "Buyer", "test");
        Assert.Equal(32, (await portal.Get<SubscriptionService>().StartAsync(buyer.Id, "team", "test")).AllocatedLanes);
    }
}
