using System.Globalization;
using Lanes.Billing.Occupancy;

namespace Lanes.Inference.Tests.Metrics;

/// <summary>A gateway that notices a lost peer quickly.</summary>
public sealed class GatewayWithQuickPlacement : GatewayOnKestrel
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Gateway:Placement:NodeTimeout", "00:00:02"), new("Gateway:Placement:Interval", "00:00:00.200")];
}

public class FleetMetricsTests(GatewayWithQuickPlacement gateway) : IClassFixture<GatewayWithQuickPlacement>
{
    /// <summary>One gauge's value as Prometheus scrapes it from /metrics.</summary>
    private async Task<double?> GaugeAsync(string name)
    {
        using var http = gateway.Http();
        var text = await http.GetStringAsync("/metrics");
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + "{", StringComparison.Ordinal) || l.StartsWith(name + " ", StringComparison.Ordinal));
        return line is null ? null : double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_lost_peer_shows_as_unplaced_lanes_and_sold_above_live_within_the_node_timeout()
    {
        // A peer gateway of 64 slots is live: a Team plan (32 lanes) fits on the fleet, not on this 8-slot gateway alone.
        // It reports (its heartbeat) while the test waits for this gateway to count it.
        Task PeerReportsAsync() => gateway.Get<LaneOccupancyStore>().ReportAsync(new GatewayOccupancy("peer-gateway", DateTimeOffset.UtcNow, 64, []));
        await PeerReportsAsync();
        await gateway.TenantWithKey("team");
        await Testing.Eventually.Get(async () => { await PeerReportsAsync(); return await GaugeAsync("lanes_fleet_live_slots"); }, v => v == 72,
            TimeSpan.FromSeconds(10), "the peer to count");
        await PeerReportsAsync();
        Assert.Equal((0d, 32d), (await GaugeAsync("lanes_fleet_unplaced_lanes"), await GaugeAsync("lanes_fleet_sold_lanes")));

        // The peer stops reporting: within the node timeout its slots go, and what it held is unplaced.
        var unplaced = await Testing.Eventually.Get(() => GaugeAsync("lanes_fleet_unplaced_lanes"), v => v > 0, TimeSpan.FromSeconds(15), "the lost peer's lanes to be unplaced");

        Assert.Equal(24d, unplaced);
        Assert.True(await GaugeAsync("lanes_fleet_sold_lanes") > await GaugeAsync("lanes_fleet_live_slots"));
    }
}
