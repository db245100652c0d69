using System.Net;
using System.Text;
using Lanes.Billing.Keys;
using Lanes.Inference.Metering;
using OpenAI.Chat;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Engine.Upstream;

public class UpstreamEngineTests(GatewayBeforeUpstream pair) : IClassFixture<GatewayBeforeUpstream>
{
    [Fact]
    public async Task A_tool_loop_runs_through_an_upstream()
    {
        var (_, key) = await pair.Gateway.TenantWithKey();

        await Api.Tools.ToolCallingTests.ToolLoop(pair.Gateway.Chat(key.Secret, "fleet-model"));
        await Api.Tools.ToolCallingTests.StreamedParallelToolLoop(pair.Gateway.Chat(key.Secret, "fleet-model"));
    }

    [Fact]
    public async Task Requests_are_forwarded_and_metered_with_the_upstreams_usage()
    {
        var (tenant, key) = await pair.Gateway.TenantWithKey();
        var chat = pair.Gateway.Chat(key.Secret, "fleet-model");

        ChatCompletion completion = await chat.CompleteChatAsync([new UserChatMessage("Hello upstream")], new ChatCompletionOptions { MaxOutputTokenCount = 4 });
        var streamed = new StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Hello again")]))
        {
            streamed.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.Equal("tok0 tok1 tok2 tok3", completion.Content[0].Text);
        Assert.Equal(4, completion.Usage.OutputTokenCount);
        Assert.Equal("tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8 tok9 tok10 tok11 tok12 tok13 tok14 tok15", streamed.ToString());

        // The upstream's own count of the prompt (8 and 7 tokens by its tokenizer) is what the front meters and
        // charges, not the front's deliberately high estimate (12 and 10).
        await pair.Gateway.Get<UsageFlusher>().FlushAsync(CancellationToken.None);
        var metered = await pair.Gateway.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id);
        Assert.Equal(8, completion.Usage.InputTokenCount);
        Assert.Equal((2L, 15L, 20L), (metered!.WindowRequests, metered.WindowInputTokens, metered.WindowOutputTokens));
        Assert.Equal((15 * 1m + 20 * 2m) / 1_000_000m, metered.WindowSpentUsd);
    }

    [Fact]
    public async Task An_upstream_refusal_is_a_502_in_openai_shape_and_costs_nothing()
    {
        var broken = new GatewayBeforeUpstream.Front(pair.Upstream.V1.ToString(), "lanes_" + new string('q', 43));
        await ((IAsyncLifetime)broken).InitializeAsync();
        try
        {
            await UpstreamRefusalIsA502(broken);
        }
        finally
        {
            await ((IAsyncLifetime)broken).DisposeAsync();
        }
    }

    private static async Task UpstreamRefusalIsA502(GatewayBeforeUpstream.Front broken)
    {
        var (tenant, key) = await broken.TenantWithKey();
        using var http = broken.Http();

        using var response = await http.SendAsync(Post("/v1/chat/completions", key.Secret,
            """{"model":"fleet-model","messages":[{"role":"user","content":"hi"}],"stream":true}"""));

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Contains("upstream_error", await response.Content.ReadAsStringAsync());
        await broken.Get<UsageFlusher>().FlushAsync(CancellationToken.None);
        Assert.Equal(0m, (await broken.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id))!.WindowSpentUsd);
    }
}
