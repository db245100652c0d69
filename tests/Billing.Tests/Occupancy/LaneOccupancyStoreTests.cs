using Lanes.Billing.Occupancy;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Occupancy;

/// <summary>What the portal and support read of lanes in use now, from the gateways' reports.</summary>
public class LaneOccupancyStoreTests(BillingHost host) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task A_tenant_sees_the_sum_of_its_own_entries_in_fresh_reports_only()
    {
        var store = host.Get<LaneOccupancyStore>();
        var (mine, other) = (Guid.NewGuid(), Guid.NewGuid());
        var now = host.Clock.GetUtcNow();
        var window = now.AddHours(-2);
        await store.ReportAsync(new GatewayOccupancy($"gw-stale-{Guid.NewGuid():N}", now, 8, [new TenantOccupancy(mine, 5, 5, window, 50)]));
        host.Clock.Advance(LaneOccupancyStore.Freshness + TimeSpan.FromSeconds(1));
        now = host.Clock.GetUtcNow();
        await store.ReportAsync(new GatewayOccupancy($"gw-a-{Guid.NewGuid():N}", now, 8, [new TenantOccupancy(mine, 2, 1, window, 10), new TenantOccupancy(other, 7, 3, window, 99)]));
        await store.ReportAsync(new GatewayOccupancy($"gw-b-{Guid.NewGuid():N}", now, 8, [new TenantOccupancy(mine, 1, 0, window, 4)]));

        var use = await store.ForTenantAsync(mine, window);

        Assert.Equal(new LaneUseNow(InUse: 3, Queued: 1, RequestsInWindow: 14, Gateways: 2), use);
    }

    [Fact]
    public async Task A_gateway_that_leaves_is_no_longer_counted()
    {
        var store = host.Get<LaneOccupancyStore>();
        var tenant = Guid.NewGuid();
        var now = host.Clock.GetUtcNow();
        var gateway = $"gw-{Guid.NewGuid():N}";
        await store.ReportAsync(new GatewayOccupancy(gateway, now, 8, [new TenantOccupancy(tenant, 2, 0, now, 1)]));

        await store.LeaveAsync(gateway);

        Assert.Equal(0, (await store.ForTenantAsync(tenant, now)).InUse);
        Assert.DoesNotContain(await store.ReportedSinceAsync(now.AddMinutes(-1)), r => r.Id == gateway);
    }
}
