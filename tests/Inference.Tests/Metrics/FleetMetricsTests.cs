using System.Diagnostics.Metrics;
using Lanes.Billing.Occupancy;
using Lanes.Inference.Metrics;

namespace Lanes.Inference.Tests.Metrics;

/// <summary>A gateway that notices a lost peer quickly.</summary>
public sealed class GatewayWithQuickPlacement : GatewayOnKestrel
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Gateway:Placement:NodeTimeout", "00:00:02"), new("Gateway:Placement:Interval", "00:00:00.200")];
}

public class FleetMetricsTests(GatewayWithQuickPlacement gateway) : IClassFixture<GatewayWithQuickPlacement>
{
    /// <summary>One gauge of this gateway as its meter reports it now. Note: read through a listener scoped to this
    /// gateway's meter factory, not from /metrics: other gateways in the test process publish the same instrument
    /// names, and the exporter's process-wide listener may show theirs.</summary>
    private double? Gauge(string name)
    {
        var scope = gateway.Get<IMeterFactory>();
        double? value = null;
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == scope && instrument.Meter.Name == GatewayMetrics.MeterName && instrument.Name == name)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<int>((_, measurement, _, _) => value = (value ?? 0) + measurement);
        listener.Start();
        listener.RecordObservableInstruments();
        return value;
    }

    private Task<double?> GaugeAsync(string name) => Task.FromResult(Gauge(name));

    [Fact]
    public async Task A_lost_peer_shows_as_unplaced_lanes_and_sold_above_live_within_the_node_timeout()
    {
        // A peer gateway of 64 slots is live: a Team plan (32 lanes) fits on the fleet, not on this 8-slot gateway alone.
        // It reports (its heartbeat) while the test waits for this gateway to count it.
        Task PeerReportsAsync() => gateway.Get<LaneOccupancyStore>().ReportAsync(new GatewayOccupancy("peer-gateway", DateTimeOffset.UtcNow, 64, []));
        await PeerReportsAsync();
        await gateway.TenantWithKey("team");
        await Testing.Eventually.Get(async () => { await PeerReportsAsync(); return await GaugeAsync("lanes.fleet.live_slots"); }, v => v == 72,
            TimeSpan.FromSeconds(10), "the peer to count");
        await PeerReportsAsync();
        Assert.Equal((0d, 32d), (Gauge("lanes.fleet.unplaced_lanes"), Gauge("lanes.fleet.sold_lanes")));

        // What the alert rules read: the gauges are exported under their Prometheus names.
        using (var http = gateway.Http())
        {
            var exported = await http.GetStringAsync("/metrics");
            Assert.All(["lanes_fleet_unplaced_lanes", "lanes_fleet_sold_lanes", "lanes_fleet_live_slots"], n => Assert.Contains(n, exported));
        }

        // The peer stops reporting: within the node timeout its slots go, and what it held is unplaced.
        var unplaced = await Testing.Eventually.Get(() => GaugeAsync("lanes.fleet.unplaced_lanes"), v => v > 0, TimeSpan.FromSeconds(15), "the lost peer's lanes to be unplaced");

        Assert.Equal(24d, unplaced);
        Assert.True(Gauge("lanes.fleet.sold_lanes") > Gauge("lanes.fleet.live_slots"));
    }
}
