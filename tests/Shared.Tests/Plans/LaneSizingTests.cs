using Lanes.Shared.Plans;

namespace Lanes.Shared.Tests.Plans;

public class LaneSizingTests
{
    [Fact]
    public void Lanes_carry_one_request_after_another_at_the_shapes_duration()
    {
        // 1,000 prompt tokens at 1,000/s + 100 output tokens at 50/s = 3 s per request: 1,200 an hour per lane.
        var shape = new RequestShape(1000, 100, 50, 1000);

        var estimate = LaneSizing.Estimate(4, shape);

        Assert.Equal(TimeSpan.FromSeconds(3), shape.Duration);
        Assert.Equal(4800, estimate.RequestsPerHour, precision: 6);
        Assert.Equal(480_000, estimate.OutputTokensPerHour, precision: 3);
        Assert.False(estimate.CappedByRequests);
    }

    [Fact]
    public void A_plans_requests_per_window_can_cap_what_its_lanes_could_run()
    {
        var plan = new PlanTier("small", "Small", 10m, 2, 800, 1m, TimeSpan.FromHours(8), []);

        var estimate = LaneSizing.Estimate(2, new RequestShape(0, 10, 10, 1000), plan);

        Assert.Equal(100, estimate.PlanRequestsPerHour);
        Assert.True(estimate.CappedByRequests);
    }

    [Theory]
    [InlineData(-1, 10, 10.0)]
    [InlineData(10, 0, 10.0)]
    [InlineData(10, 10, 0.0)]
    public void Impossible_shapes_are_explained(int input, int output, double speed)
    {
        Assert.NotEmpty(new RequestShape(input, output, speed, 1000).Validate());
    }
}
