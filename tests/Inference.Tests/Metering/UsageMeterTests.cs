using Lanes.Billing.Usage;
using Lanes.Inference.Metering;

namespace Lanes.Inference.Tests.Metering;

public class UsageMeterTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 2, 10, 15, 0, TimeSpan.Zero);

    [Fact]
    public void Each_request_is_counted_under_the_api_it_came_through_whether_served_or_refused()
    {
        var meter = new UsageMeter();
        var (tenant, key) = (Guid.NewGuid(), Guid.NewGuid());

        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null, Door: ApiDoor.Responses));
        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null, Door: ApiDoor.Messages));
        meter.Record(new Metered(tenant, key, "m", At.Date, At, 0, 0, 0m, RefusalCause.Budget, Door: ApiDoor.Messages));
        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null));

        var line = Assert.Single(meter.Drain());
        Assert.Equal([1L, 0L, 1L, 2L], Enum.GetValues<ApiDoor>().Select(line.Detail!.RequestsThrough));
        Assert.Equal((3L, 1L), (line.Requests, line.Throttled));
    }

    [Fact]
    public void Requests_within_reservation_are_counted_with_those_honoured_and_the_waits_of_those_that_started()
    {
        var meter = new UsageMeter();
        var (tenant, key) = (Guid.NewGuid(), Guid.NewGuid());

        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null, QueueWait: TimeSpan.FromMilliseconds(2), Promise: LanePromise.Honoured));
        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null, QueueWait: TimeSpan.FromSeconds(2), Promise: LanePromise.Missed));
        meter.Record(new Metered(tenant, key, "m", At.Date, At, 0, 0, 0m, RefusalCause.Lanes, Promise: LanePromise.Missed));
        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null, QueueWait: TimeSpan.FromSeconds(3)));

        var detail = Assert.Single(meter.Drain()).Detail!;
        Assert.Equal((3L, 1L), (detail.WithinReservation, detail.Honoured));
        Assert.Equal(100.0 / 3, detail.HonouredPercent!.Value, 6);
        // The refused request has no wait, and the burst request's is not the promise's.
        Assert.Equal(2, detail.ReservedWaitCounts!.Sum());
        Assert.Equal(0.005, detail.ReservedWaitSeconds(0.5));
        Assert.Equal(2.5, detail.ReservedWaitSeconds(0.99));
    }

    [Fact]
    public void The_peak_is_the_most_lanes_any_request_saw_running_never_a_sum()
    {
        var meter = new UsageMeter();
        var (tenant, key) = (Guid.NewGuid(), Guid.NewGuid());

        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null, LanesInUse: 1));
        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null, LanesInUse: 3));
        meter.Record(new Metered(tenant, key, "m", At.Date, At, 10, 5, 0.01m, null, LanesInUse: 2));

        Assert.Equal(3, Assert.Single(meter.Drain()).Detail!.PeakLanes);
    }
}
