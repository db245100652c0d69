using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Support;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Support;

public class SupportQueriesTests(BillingHost host) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task Staff_find_a_tenant_by_name_member_email_or_key_prefix()
    {
        var slug = $"zebra-{Guid.NewGuid():N}"[..16];
        var tenant = await host.Get<TenantService>().CreateAsync(slug, "Zebra Analytics", "test", ($"u-{slug}", $"cto@{slug}.test"));
        await host.Get<SubscriptionService>().StartAsync(tenant.Id, "pro", "test");
        var key = await host.KeyFor(tenant);
        var support = host.Get<SupportQueries>();

        Assert.Contains(await support.SearchAcrossTenantsAsync(slug), h => h.Tenant.Id == tenant.Id);
        Assert.Contains(await support.SearchAcrossTenantsAsync($"cto@{slug}.test"), h => h.Tenant.Id == tenant.Id);
        Assert.Contains(await support.SearchAcrossTenantsAsync(key.Key.Prefix), h => h.Tenant.Id == tenant.Id && h.Match.StartsWith("key", StringComparison.Ordinal));
        Assert.Empty(await support.SearchAcrossTenantsAsync("z"));
    }

    [Fact]
    public async Task Search_results_get_each_tenants_subscription_and_none_for_a_tenant_without_one()
    {
        var pro = await host.TenantWithActiveSubscription("pro");
        var starter = await host.TenantWithActiveSubscription("starter");
        var none = await host.Get<TenantService>().CreateAsync($"n-{Guid.NewGuid():N}"[..16], "No plan yet", "test");

        var found = await host.Get<SubscriptionService>().FindManyAsync([pro.Id, starter.Id, none.Id]);

        Assert.Equal(2, found.Count);
        Assert.Equal(("pro", "starter"), (found[pro.Id].PlanId, found[starter.Id].PlanId));
        Assert.False(found.ContainsKey(none.Id));
    }

    [Fact]
    public async Task The_timeline_tells_the_tenants_changes_in_words_newest_first_without_metering()
    {
        var tenant = await host.TenantWithActiveSubscription("pro");
        var key = await host.KeyFor(tenant, name: "ci-runner");
        await host.Get<UsageRecorder>().RecordAsync(new UsageBatch(Guid.NewGuid(), "test",
            [new UsageLine(tenant.Id, key.Key.Id, "lanes-demo", key.Key.WindowStart, key.Key.WindowStart, 1, 1, 1, 0.01m, 0)]));
        await host.Get<SubscriptionService>().AdjustReservationAsync(tenant.Id, 9, null, "launch week", "staff-7");
        await host.Get<KeyService>().RevokeAsync(tenant.Id, key.Key.Id, RevocationReason.Staff, "staff-7");

        var timeline = await host.Get<SupportQueries>().TimelineAsync(tenant.Id);

        Assert.Equal("Key revoked (Staff)", timeline[0].What);
        Assert.Equal(("Reservation set to 9 lanes: launch week", "staff-7", "subscription"), (timeline[1].What, timeline[1].By, timeline[1].Stream));
        Assert.Equal("key ci-runner", timeline[0].Stream);
        Assert.Contains(timeline, t => t.What.StartsWith("Subscription started on Pro (6 lanes", StringComparison.Ordinal));
        Assert.Contains(timeline, t => t.What.StartsWith("Organisation Test tenant", StringComparison.Ordinal));
        Assert.DoesNotContain(timeline, t => t.What.Contains("usage", StringComparison.OrdinalIgnoreCase));
        Assert.Equal(timeline.OrderByDescending(t => t.Sequence).Select(t => t.Sequence), timeline.Select(t => t.Sequence));
    }
}
