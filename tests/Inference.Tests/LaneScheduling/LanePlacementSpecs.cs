using Lanes.Inference.LaneScheduling;

namespace Lanes.Inference.Tests.LaneScheduling;

public class LanePlacementSpecs
{
    private static readonly Guid A = Guid.Parse("00000000-0000-0000-0000-00000000000a");
    private static readonly Guid B = Guid.Parse("00000000-0000-0000-0000-00000000000b");

    [Fact]
    public void A_reservation_is_split_evenly_over_equal_gateways()
    {
        var placement = LanePlacement.Place([new("g1", 8), new("g2", 8)], [(A, 4), (B, 6)]);

        Assert.Equal((2, 2), (placement.ReservedOn("g1", A), placement.ReservedOn("g2", A)));
        Assert.Equal((3, 3), (placement.ReservedOn("g1", B), placement.ReservedOn("g2", B)));
        Assert.Equal(0, placement.Unplaced);
    }

    [Fact]
    public void Bigger_gateways_take_a_bigger_share()
    {
        var placement = LanePlacement.Place([new("big", 24), new("small", 8)], [(A, 8)]);

        Assert.Equal((6, 2), (placement.ReservedOn("big", A), placement.ReservedOn("small", A)));
    }

    [Fact]
    public void A_gateways_slots_are_never_reserved_past_what_it_has_and_the_rest_is_counted_as_unplaced()
    {
        var placement = LanePlacement.Place([new("g1", 4)], [(A, 3), (B, 3)]);

        Assert.Equal(4, placement.ReservedByAllOn("g1"));
        Assert.Equal(2, placement.Unplaced);
    }

    [Fact]
    public void When_a_gateway_is_gone_the_survivor_takes_the_whole_reservation()
    {
        var before = LanePlacement.Place([new("g1", 8), new("g2", 8)], [(A, 4)]);
        var after = LanePlacement.Place([new("g1", 8)], [(A, 4)]);

        Assert.Equal(2, before.ReservedOn("g1", A));
        Assert.Equal(4, after.ReservedOn("g1", A));
    }

    [Fact]
    public void Every_gateway_computes_the_same_placement_whatever_order_it_reads_in()
    {
        var one = LanePlacement.Place([new("g2", 8), new("g1", 8), new("g3", 4)], [(B, 5), (A, 7)]);
        var two = LanePlacement.Place([new("g3", 4), new("g1", 8), new("g2", 8)], [(A, 7), (B, 5)]);

        foreach (var node in new[] { "g1", "g2", "g3" })
        {
            Assert.Equal(one.ReservedOn(node, A), two.ReservedOn(node, A));
            Assert.Equal(one.ReservedOn(node, B), two.ReservedOn(node, B));
        }

        Assert.Equal(7, new[] { "g1", "g2", "g3" }.Sum(n => one.ReservedOn(n, A)));
    }
}
