using System.Net;
using Lanes.Inference.LaneScheduling;
using Lanes.Testing;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.LaneScheduling;

/// <summary>Eight slots; each reply takes 30 tokens at 20 ms, so a flood keeps every lane it can get busy.</summary>
public sealed class EightSlowSlots : GatewayOnKestrel
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Engine:Scripted:Slots", "8"),
        new("Engine:Scripted:Tokens", "30"),
        new("Engine:Scripted:TokenDelay", "00:00:00.020"),
        new("Gateway:Lanes:QueueLength", "64"),
        new("Gateway:Lanes:QueueTimeout", "00:00:30"),
    ];
}

public class CrossDoorIsolationTests(EightSlowSlots gateway) : IClassFixture<EightSlowSlots>
{
    [Fact]
    public async Task A_tenant_flooding_through_the_messages_door_never_makes_another_tenant_wait_on_the_responses_door()
    {
        var (flooder, floodKey) = await gateway.TenantWithKey(plan: "starter", budget: 50m); // 2 lanes
        var (reserved, reservedKey) = await gateway.TenantWithKey(plan: "pro", budget: 50m);        // 6 lanes
        using var http = new HttpClient { BaseAddress = gateway.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        using var stop = new CancellationTokenSource();

        async Task Flood()
        {
            while (!stop.IsCancellationRequested)
            {
                using var request = Post("/v1/messages", null, """{"model":"scripted","max_tokens":30,"messages":[{"role":"user","content":"flood"}]}""");
                request.Headers.Add("x-api-key", floodKey.Secret);
                try
                {
                    using var _ = await http.SendAsync(request, stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
            }
        }

        var flood = Enumerable.Range(0, 24).Select(_ => Task.Run(Flood)).ToList();
        try
        {
            var lanes = gateway.Get<LaneScheduler>();
            await Eventually.Get(() => Task.FromResult(lanes.View(flooder.Id, 2).Queued), q => q > 10, TimeSpan.FromSeconds(10), "the flood to queue behind its two lanes");

            // Three rounds of six at once on the Responses door, streamed: a stream opens only once its request holds a
            // lane, so six open streams with six lanes in use means none of the six waited behind the flood.
            for (var round = 0; round < 3; round++)
            {
                var streams = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
                {
                    var request = Post("/v1/responses", reservedKey.Secret, """{"model":"scripted","input":"work","max_output_tokens":30,"stream":true}""");
                    var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                    var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                    var first = await reader.ReadLineAsync();
                    return (request, response, reader, first);
                }));
                try
                {
                    var view = lanes.View(reserved.Id, 6);
                    Assert.All(streams, s => Assert.Equal((HttpStatusCode.OK, "event: response.created"), (s.response.StatusCode, s.first)));
                    Assert.Equal((6, 0, 0), (view.InUse, view.Queued, view.Borrowed));
                    Assert.True(lanes.View(flooder.Id, 2).Queued > 0, "the flood was still waiting while the reserved tenant ran");
                }
                finally
                {
                    foreach (var (request, response, reader, _) in streams)
                    {
                        reader.Dispose();
                        response.Dispose();
                        request.Dispose();
                    }
                }

                await Eventually.Get(() => Task.FromResult(lanes.View(reserved.Id, 6).InUse), n => n == 0, TimeSpan.FromSeconds(10), "the closed streams to free their lanes");
            }
        }
        finally
        {
            await stop.CancelAsync();
            await Task.WhenAll(flood);
        }
    }
}
