using System.Net;
using System.Text;
using Lanes.Billing.Keys;
using Lanes.Inference.Metering;
using Lanes.Testing;
using Microsoft.AspNetCore.Hosting;
using OpenAI.Chat;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Api;

/// <summary>A gateway whose engine is another OpenAI-compatible server: here a second Lanes gateway (scripted).</summary>
public sealed class GatewayBeforeUpstream : IAsyncLifetime
{
    public GatewayOnKestrel Upstream { get; } = new();

    public Front Gateway { get; private set; } = null!;

    public IssuedKey UpstreamKey { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Upstream.InitializeAsync();
        (_, UpstreamKey) = await Upstream.TenantWithKey(budget: 100m);
        Gateway = new Front(Upstream.V1.ToString(), UpstreamKey.Secret);
        await Gateway.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncLifetime)Gateway).DisposeAsync();
        await ((IAsyncLifetime)Upstream).DisposeAsync();
    }

    /// <summary>A gateway in upstream mode serving <c>fleet-model</c> as <paramref name="upstreamId"/> upstream.</summary>
    public sealed class Front(string upstream, string? secret, int contextTokens = 8192, string upstreamId = "scripted") : GatewayOnKestrel
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [
            new("Engine:Kind", "upstream"),
            new("Engine:Upstream:BaseUrl", upstream),
            new("Engine:Upstream:ApiKey", secret ?? ""),
            new("Engine:Upstream:Models:0:Id", "fleet-model"),
            new("Engine:Upstream:Models:0:UpstreamId", upstreamId),
            new("Engine:Upstream:Models:0:ContextTokens", contextTokens.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("Engine:Upstream:Slots", "4"),
            new("Pricing:Models:0:Model", "fleet-model"),
            new("Pricing:Models:0:InputPerMillionUsd", "1"),
            new("Pricing:Models:0:OutputPerMillionUsd", "2"),
            new("Pricing:Models:0:Source", "test"),
            new("Pricing:Models:0:AsOf", "2026-11-01"),
        ];

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Engine:Kind", "upstream");
        }
    }
}

public class UpstreamEngineTests(GatewayBeforeUpstream pair) : IClassFixture<GatewayBeforeUpstream>
{
    [Fact]
    public async Task A_tool_loop_runs_through_an_upstream()
    {
        var (_, key) = await pair.Gateway.TenantWithKey();

        await Tools.ToolCallingTests.ToolLoop(pair.Gateway.Chat(key.Secret, "fleet-model"));
        await Tools.ToolCallingTests.StreamedParallelToolLoop(pair.Gateway.Chat(key.Secret, "fleet-model"));
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
