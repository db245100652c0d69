using Lanes.Billing.Occupancy;
using Lanes.Inference.LaneScheduling;
using Lanes.Inference.Tests.Metrics;

namespace Lanes.Inference.Tests.LaneScheduling;

public class ClockSkewTests(GatewayWithQuickPlacement gateway) : IClassFixture<GatewayWithQuickPlacement>
{
    /// <summary>A peer whose clock is <paramref name="skew"/> off reports now, as it does every interval.</summary>
    private Task PeerReportsAsync(string peer, TimeSpan skew) =>
        gateway.Get<LaneOccupancyStore>().ReportAsync(new GatewayOccupancy(peer, DateTimeOffset.UtcNow + skew, 8, []));

    [Theory]
    [InlineData(-4)]
    [InlineData(4)]
    public async Task A_peer_whose_clock_is_four_seconds_off_counts_as_live_while_it_reports_and_goes_within_the_node_timeout_when_it_stops(int skewSeconds)
    {
        var peer = $"skewed-{skewSeconds}";
        var skew = TimeSpan.FromSeconds(skewSeconds);
        var placement = gateway.Get<PlacementService>();

        // Reporting as a live peer does (every placement interval), it is counted in every placement once its reports
        // are seen to move (a peer whose clock is behind is counted from its second report), never flapping.
        await PeerReportsAsync(peer, skew);
        await placement.RefreshAsync(CancellationToken.None);
        var counted = 0;
        for (var i = 0; i < 10; i++)
        {
            await PeerReportsAsync(peer, skew);
            await placement.RefreshAsync(CancellationToken.None);
            counted += placement.LiveNodes.Contains(peer) ? 1 : 0;
        }

        Assert.Equal(10, counted);

        // It stops: gone within the node timeout (2 s) and one placement interval, whatever its clock said.
        var stopped = System.Diagnostics.Stopwatch.StartNew();
        await Testing.Eventually.Get(async () => { await placement.RefreshAsync(CancellationToken.None); return placement.LiveNodes.Contains(peer); },
            live => !live, TimeSpan.FromSeconds(5), "the silent peer to leave the placement");
        Assert.True(stopped.Elapsed < TimeSpan.FromSeconds(3), $"left after {stopped.Elapsed}");
    }
}
