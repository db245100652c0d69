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
}
