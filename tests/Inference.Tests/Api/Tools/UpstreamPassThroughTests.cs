using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lanes.Testing;
using OpenAI.Chat;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;
using Lanes.Inference.Tests.Engine.Upstream;

namespace Lanes.Inference.Tests.Api.Tools;

/// <summary>A gateway in upstream mode in front of a recording OpenAI-compatible server.</summary>
public sealed class GatewayBeforeRecordingUpstream : IAsyncLifetime
{
    public RecordingUpstream Upstream { get; } = new();

    public GatewayOnKestrel Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Upstream.InitializeAsync();
        Gateway = new GatewayBeforeUpstream.Front(Upstream.BaseUrl, secret: null, upstreamId: "vendor/model-7b");
        await Gateway.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncLifetime)Gateway).DisposeAsync();
        await Upstream.DisposeAsync();
    }
}

public class UpstreamPassThroughTests(GatewayBeforeRecordingUpstream pair) : IClassFixture<GatewayBeforeRecordingUpstream>
{
    [Fact]
    public async Task Tools_results_formats_and_sampling_parameters_reach_the_upstream_intact()
    {
        var (_, key) = await pair.Gateway.TenantWithKey();
        pair.Upstream.Requests.Clear();
        const string body = """
            {"model":"fleet-model","max_completion_tokens":50,"stream":false,"store":false,"metadata":{"run":"7"},"user":"dev",
             "messages":[{"role":"system","content":"Use tools."},{"role":"user","content":"Weather?"},
               {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
               {"role":"tool","tool_call_id":"call_1","content":"sunny"},{"role":"user","content":"And tomorrow?"}],
             "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]},"strict":true}}],
             "tool_choice":{"type":"function","function":{"name":"get_weather"}},"parallel_tool_calls":false,
             "response_format":{"type":"json_schema","json_schema":{"name":"w","schema":{"type":"object","properties":{"t":{"type":"number"}}},"strict":true}},
             "presence_penalty":0.5,"frequency_penalty":-0.25,"logit_bias":{"42":-100},"logprobs":true,"top_logprobs":2,"seed":7,"temperature":0.2,"top_p":0.9,"stop":["END"],"reasoning_effort":"low"}
            """;
        using var http = pair.Gateway.Http();

        using var response = await http.SendAsync(Post("/v1/chat/completions", key.Secret, body));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var sent = JsonDocument.Parse(body);
        var forwarded = Assert.Single(pair.Upstream.Requests.ToArray()).RootElement;
        foreach (var name in new[] { "messages", "tools", "tool_choice", "parallel_tool_calls", "response_format", "presence_penalty", "frequency_penalty", "logit_bias", "logprobs", "top_logprobs", "seed", "temperature", "top_p", "stop", "reasoning_effort" })
        {
            Assert.True(JsonNode.DeepEquals(JsonNode.Parse(sent.RootElement.GetProperty(name).GetRawText()), JsonNode.Parse(forwarded.GetProperty(name).GetRawText())), name);
        }

        Assert.Equal("vendor/model-7b", forwarded.GetProperty("model").GetString());
        Assert.False(forwarded.GetProperty("stream").GetBoolean()); // the client waits for the whole answer, so the gateway does too
        Assert.False(forwarded.TryGetProperty("stream_options", out _));
        Assert.Equal(50, forwarded.GetProperty("max_tokens").GetInt32());
        Assert.False(forwarded.TryGetProperty("metadata", out _));
        Assert.False(forwarded.TryGetProperty("store", out _));
        Assert.False(forwarded.TryGetProperty("user", out _));

        // The upstream's tool call, logprobs and cached tokens come back as one OpenAI completion.
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var choice = answer.RootElement.GetProperty("choices")[0];
        var call = choice.GetProperty("message").GetProperty("tool_calls")[0];
        Assert.Equal(("tool_calls", "Let me check.", "call_up1", "get_weather", """{"city":"Oslo"}"""),
            (choice.GetProperty("finish_reason").GetString(), choice.GetProperty("message").GetProperty("content").GetString(),
             call.GetProperty("id").GetString(), call.GetProperty("function").GetProperty("name").GetString(), call.GetProperty("function").GetProperty("arguments").GetString()));
        Assert.Equal("Let", choice.GetProperty("logprobs").GetProperty("content")[0].GetProperty("token").GetString());
        var usage = answer.RootElement.GetProperty("usage");
        Assert.Equal((40, 9, 32), (usage.GetProperty("prompt_tokens").GetInt32(), usage.GetProperty("completion_tokens").GetInt32(), usage.GetProperty("prompt_tokens_details").GetProperty("cached_tokens").GetInt32()));
    }

    [Fact]
    public async Task The_official_client_streams_the_upstreams_tool_call_deltas()
    {
        var (_, key) = await pair.Gateway.TenantWithKey();
        var chat = pair.Gateway.Chat(key.Secret, "fleet-model");
        string? id = null, name = null;
        var arguments = "";
        ChatFinishReason? finish = null;

        await foreach (var update in chat.CompleteChatStreamingAsync([new UserChatMessage("Weather?")], ToolCallingTests.Options(ChatToolChoice.CreateAutoChoice())))
        {
            foreach (var piece in update.ToolCallUpdates)
            {
                id ??= piece.ToolCallId;
                name ??= piece.FunctionName;
                arguments += piece.FunctionArgumentsUpdate?.ToString();
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal(("call_up1", "get_weather", """{"city":"Oslo"}""", ChatFinishReason.ToolCalls), (id, name, arguments, finish));
        var forwarded = pair.Upstream.Requests.Last().RootElement;
        Assert.True(forwarded.GetProperty("stream").GetBoolean());
        Assert.True(forwarded.GetProperty("stream_options").GetProperty("include_usage").GetBoolean());
    }

    [Fact]
    public async Task Images_are_refused_for_a_model_without_vision()
    {
        var (_, key) = await pair.Gateway.TenantWithKey();
        using var http = pair.Gateway.Http();

        using var response = await http.SendAsync(Post("/v1/chat/completions", key.Secret,
            """{"model":"fleet-model","messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"https://example.invalid/a.png"}}]}]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("images", await response.Content.ReadAsStringAsync());
    }
}
