using System.Net;
using Lanes.Billing.Occupancy;
using Lanes.Inference.LaneScheduling;
using Lanes.Shared.Windows;
using Lanes.Testing;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.LaneScheduling;

/// <summary>One slot, 20 ms per token, a one-request lane queue that waits 300 ms, and a plan of 5 requests per window.</summary>
public sealed class OneSlowSlot : GatewayOnKestrel
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Engine:Scripted:Slots", "1"),
        new("Engine:Scripted:Tokens", "50"),
        new("Engine:Scripted:TokenDelay", "00:00:00.020"),
        new("Gateway:Lanes:QueueLength", "1"),
        new("Gateway:Lanes:QueueTimeout", "00:00:00.300"),
        new("Gateway:Lanes:OccupancyReportInterval", "00:00:00.100"),
        new("Capacity:Source", "Configured"),
        new("Capacity:TotalLanes", "1000"),
        new("Plans:Tiers:0:Id", "tiny"),
        new("Plans:Tiers:0:Name", "Tiny"),
        new("Plans:Tiers:0:MonthlyPriceUsd", "1"),
        new("Plans:Tiers:0:ReservedLanes", "1"),
        new("Plans:Tiers:0:RequestsPerWindow", "5"),
        new("Plans:Tiers:0:DefaultKeyBudgetUsd", "1"),
        new("Plans:Tiers:0:Window", "8h"),
    ];
}

public class LaneAdmissionTests(OneSlowSlot gateway) : IClassFixture<OneSlowSlot>
{
    private const string Slow = """{"model":"scripted","messages":[{"role":"user","content":"hi"}],"stream":true}""";
    private const string Quick = """{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":1}""";

    [Fact]
    public async Task The_portal_reads_a_tenants_lanes_in_use_and_requests_this_window_from_the_gateways_reports()
    {
        var (tenant, key) = await gateway.TenantWithKey(plan: "tiny");
        var (other, _) = await gateway.TenantWithKey(plan: "tiny");
        using var http = gateway.Http();
        var occupancy = gateway.Get<LaneOccupancyStore>();
        var window = WindowSchedule.At(DateTimeOffset.UtcNow, TimeSpan.FromHours(8)).Start;

        using var stop = new CancellationTokenSource();
        using var running = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Slow), HttpCompletionOption.ResponseHeadersRead, stop.Token);

        var busy = await Eventually.Get(() => occupancy.ForTenantAsync(tenant.Id, window), u => u.InUse == 1, what: "the running request in the report");
        Assert.Equal(1, busy.RequestsInWindow);
        Assert.Equal(new LaneUseNow(0, 0, 0, busy.Gateways), await occupancy.ForTenantAsync(other.Id, window));

        await stop.CancelAsync();
        await Eventually.Get(() => occupancy.ForTenantAsync(tenant.Id, window), u => u.InUse == 0, what: "the lane to be reported free");
    }

    [Fact]
    public async Task Queue_full_and_queue_timeout_are_429s_with_their_own_codes_and_a_disconnect_frees_the_lane_at_once()
    {
        var (tenant, key) = await gateway.TenantWithKey(plan: "tiny");
        using var http = gateway.Http();
        var lanes = gateway.Get<LaneScheduler>();

        // 1: takes the only slot and streams for about a second.
        using var cancelFirst = new CancellationTokenSource();
        using var first = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Slow), HttpCompletionOption.ResponseHeadersRead, cancelFirst.Token);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(1, lanes.View(tenant.Id, 1).InUse);

        // 2: waits in the lane queue; 3: finds the queue full.
        var second = http.SendAsync(Post("/v1/chat/completions", key.Secret, Quick));
        await WaitFor(() => lanes.View(tenant.Id, 1).Queued == 1);
        using var third = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Quick));
        Assert.Equal((HttpStatusCode)429, third.StatusCode);
        Assert.Contains("lane_queue_full", await third.Content.ReadAsStringAsync());
        Assert.Equal("1", Header(third, "Retry-After"));

        // 2 gives up after the queue timeout.
        using var secondAnswer = await second;
        Assert.Equal((HttpStatusCode)429, secondAnswer.StatusCode);
        Assert.Contains("lane_queue_timeout", await secondAnswer.Content.ReadAsStringAsync());

        // 1 disconnects mid-stream: its lane is free at once and the next request runs.
        await cancelFirst.CancelAsync();
        first.Dispose();
        await WaitFor(() => lanes.View(tenant.Id, 1).InUse == 0);
        using var fourth = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Quick));
        Assert.Equal(HttpStatusCode.OK, fourth.StatusCode);

        // Requests counted in the window: only those that ran (1 and 4; the refused 2 and 3 were given back), so
        // three more run and the next one is over the plan's 5.
        for (var i = 0; i < 3; i++)
        {
            using var more = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Quick));
            Assert.Equal(HttpStatusCode.OK, more.StatusCode);
        }

        using var sixth = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Quick));
        Assert.Equal((HttpStatusCode)429, sixth.StatusCode);
        Assert.Contains("request_window_exhausted", await sixth.Content.ReadAsStringAsync());
        Assert.True(long.Parse(Header(sixth, "Retry-After")!) > 0);
        Assert.Equal("0", Header(sixth, "x-ratelimit-remaining-requests"));
    }

    private static Task WaitFor(Func<bool> condition) =>
        Testing.Eventually.Get(() => Task.FromResult(condition()), done => done, TimeSpan.FromSeconds(10));
}
