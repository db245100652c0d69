using Lanes.Billing.Occupancy;
using Lanes.Inference.Auth;
using Lanes.Inference.LaneScheduling;
using Lanes.Testing;
using Microsoft.Extensions.Hosting;

namespace Lanes.Inference.Tests.LaneScheduling;

/// <summary>A gateway of the <c>scripted-pool</c> model pool, beside a peer of the default pool. Pro sells from the
/// default pool, Big from this gateway's.</summary>
public sealed class GatewayOfOnePool : GatewayOnKestrel
{
    public const string Pool = "scripted-pool";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Gateway:Pool", Pool), new("Capacity:Source", "Fleet"), new("Capacity:TrialLanes", "0"),
        .. PlanTierSettings.Tier(0, "pro", 6, pool: null), .. PlanTierSettings.Tier(1, "big", 4, Pool),
    ];
}

public class PoolPlacementTests(GatewayOfOnePool gateway) : IClassFixture<GatewayOfOnePool>
{
    private OccupancyReporter Reporter => gateway.Get<IEnumerable<IHostedService>>().OfType<OccupancyReporter>().Single();

    [Fact]
    public async Task A_gateway_reports_its_pool_and_models_and_holds_only_the_reservations_of_its_pools_plans()
    {
        // This gateway's report and a default-pool peer's: each pool's capacity is its own gateways' slots.
        var store = gateway.Get<LaneOccupancyStore>();
        await store.ReportAsync(Reporter.Snapshot());
        await store.ReportAsync(new GatewayOccupancy("default-peer", DateTimeOffset.UtcNow, 8, []));
        var (pro, proKey) = await gateway.TenantWithKey("pro");
        var (big, bigKey) = await gateway.TenantWithKey("big");

        var own = Reporter.Snapshot();
        Assert.Equal(GatewayOfOnePool.Pool, own.Pool);
        Assert.Equal(["scripted"], own.Models!);
        var keys = gateway.Get<KeyDirectory>();
        Assert.Equal([(big.Id, 4)], keys.Reservations(DateTimeOffset.UtcNow));
        Assert.Equal(4, keys.TotalReservedLanes);

        // The default pool's peer is not one of this pool's gateways: it takes no share of Big's lanes.
        var placement = gateway.Get<PlacementService>();
        await placement.RefreshAsync(CancellationToken.None);
        Assert.Equal((1, 8, 4), (placement.LiveNodes.Count, placement.LiveSlots, placement.ReservedHere(big.Id, 4)));

        // Pro's lanes are on the other pool's gateways; here its requests run on unreserved slots, and both are served.
        Assert.Contains(own.Tenants, t => t.TenantId == big.Id && t.Reserved == 4);
        Assert.DoesNotContain(own.Tenants, t => t.TenantId == pro.Id);
        foreach (var key in new[] { proKey, bigKey })
        {
            var reply = await gateway.Chat(key.Secret).CompleteChatAsync("hello");
            Assert.NotEmpty(reply.Value.Content[0].Text);
        }
    }
}
