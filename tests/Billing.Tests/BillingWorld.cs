using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;

namespace Lanes.Billing.Tests;

/// <summary>Shortcuts that put a billing host into the states tests start from.</summary>
public static class BillingWorld
{
    public static async Task<Tenant> TenantWithActiveSubscription(this BillingHost host, string plan = "starter", string? slug = null)
    {
        var tenant = await host.Get<TenantService>().CreateAsync(slug ?? $"t-{Guid.NewGuid():N}"[..20], "Test tenant", "test", ("user-1", "owner@test.local"));
        await host.Get<SubscriptionService>().StartAsync(tenant.Id, plan, "test");
        return tenant;
    }

    public static Task<IssuedKey> KeyFor(this BillingHost host, Tenant tenant, decimal budget = 10m, string name = "ci", DateTimeOffset? expires = null) =>
        host.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest(name, budget, ExpiresAt: expires), "test");
}
