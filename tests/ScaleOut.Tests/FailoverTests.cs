using System.Diagnostics;
using System.Net;
using Lanes.Testing;

namespace Lanes.ScaleOut.Tests;

/// <summary>A fleet of its own: this test kills one of its gateways.</summary>
public sealed class FleetToBreak : GatewayFleet;

[Collection(FleetCollection.Name)]
public class FailoverTests(FleetToBreak fleet) : IClassFixture<FleetToBreak>
{
    /// <summary>docs/scale-out.md: a dead gateway's share moves within the node timeout plus one placement interval
    /// and one report (here 2 s + 0.2 s + 0.2 s; one more second of slack for a busy machine).</summary>
    public static readonly TimeSpan Replacement = GatewayFleet.NodeTimeout + GatewayFleet.PlacementInterval + GatewayFleet.ReportInterval + TimeSpan.FromSeconds(1);

    [Fact]
    public async Task After_a_gateway_dies_the_survivor_serves_the_tenants_full_reservation_within_the_stated_time()
    {
        var (a, keyOfA) = await fleet.TenantWithKeyAsync("pro"); // 6 lanes
        var (survivor, victim) = (fleet.Nodes[0], fleet.Nodes[1]);
        await Eventually.Get(() => fleet.OnNodeAsync(survivor.Name, a.Id), o => o.Reserved == 3, TimeSpan.FromSeconds(10), "A's lanes split over both gateways");

        var clock = Stopwatch.StartNew();
        await victim.KillAsync();
        await Eventually.Get(() => fleet.OnNodeAsync(survivor.Name, a.Id), o => o.Reserved == 6, Replacement, "A's whole reservation on the survivor");
        var moved = clock.Elapsed;

        // The survivor now runs six of A's requests at once.
        var requests = Enumerable.Range(0, 6).Select(_ => GatewayFleet.ChatAsync(survivor, keyOfA.Secret, tokens: 40)).ToList();
        await Eventually.Get(() => fleet.OnNodeAsync(survivor.Name, a.Id), o => o.InUse == 6, TimeSpan.FromSeconds(5), "six of A's requests running on the survivor");
        Assert.All(await Task.WhenAll(requests), s => Assert.Equal(HttpStatusCode.OK, s));
        Assert.True(moved <= Replacement, $"moved after {moved}");
    }
}
