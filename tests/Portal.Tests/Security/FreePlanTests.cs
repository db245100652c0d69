using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;
using Lanes.Portal.Tests.Account;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Security;

/// <summary>Internal billing has no payments: nothing a customer does may turn a free trial into lanes nobody pays for.</summary>
[Collection(PortalHosts.Name)]
public class FreePlanTests(SecuredPortal portal) : IClassFixture<SecuredPortal>
{
    [Fact]
    public async Task A_customer_cannot_upgrade_a_trial_or_cancel_and_resume_it_into_a_paid_plan_and_the_trial_ends()
    {
        var (owner, email) = await portal.ConfirmedOwnerAsync();

        // The sequence that used to end on an active Team subscription renewing for ever.
        var upgrade = await owner.PostBillingAsync("/billing/api/change-plan", new { plan = "team", command_id = Guid.NewGuid() });
        Assert.Equal(HttpStatusCode.Forbidden, upgrade.StatusCode);
        Assert.Contains("assigned by Lanes staff", await upgrade.Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.OK, (await owner.PostBillingAsync("/billing/api/cancel")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await owner.PostBillingAsync("/billing/api/resume")).StatusCode);

        var subscription = await owner.GetFromJsonAsync<JsonElement>("/billing/api/subscription");
        Assert.Equal(("starter", "Trialing", 2), (subscription.GetProperty("plan").GetString(), subscription.GetProperty("status").GetString(), subscription.GetProperty("reserved_lanes").GetInt32()));

        // The clock's jobs at the end of the trial period: it ends, it does not renew.
        await using var scope = portal.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>().FindByEmailAsync(email);
        var (tenant, _) = Assert.Single(await portal.Get<TenantService>().MembershipsOfAsync(user!.Id));
        var state = await portal.Get<SubscriptionService>().FindAsync(tenant.Id);
        Assert.True(state!.FreeTrial);
        var end = state.PeriodEnd.AddSeconds(1);
        Assert.Null(SubscriptionDecisions.RenewIfDue(state, end));
        Assert.Equal("trial_ended", SubscriptionDecisions.EndIfLapsed(state, end)!.Reason);
    }
}
