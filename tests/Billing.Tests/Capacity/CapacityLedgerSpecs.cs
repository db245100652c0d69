using Lanes.Billing.Capacity;

namespace Lanes.Billing.Tests.Capacity;

public class CapacityLedgerSpecs
{
    [Fact]
    public void A_reservation_that_fits_the_free_lanes_is_accepted()
    {
        CapacityLedger.EnsureFits(totalLanes: 10, allocatedToOthers: 4, current: 0, requested: 6);
    }

    [Fact]
    public void Overselling_is_refused_with_the_numbers()
    {
        var error = Assert.Throws<RuleViolation>(() => CapacityLedger.EnsureFits(totalLanes: 10, allocatedToOthers: 6, current: 2, requested: 6));

        Assert.Equal("capacity_exceeded", error.Code);
        Assert.Contains("6 lanes requested, 4 of the cluster's 10 are free", error.Message);
    }

    [Fact]
    public void Shrinking_is_always_allowed_even_when_capacity_was_lowered()
    {
        CapacityLedger.EnsureFits(totalLanes: 4, allocatedToOthers: 10, current: 6, requested: 2);
    }
}
