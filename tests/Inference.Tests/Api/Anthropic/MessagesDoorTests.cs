using System.Net;
using System.Text.Json;
using Lanes.Inference.Tests.Agents;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Api.Anthropic;

public class MessagesDoorTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    [Fact]
    public async Task The_anthropic_node_sdk_creates_streams_counts_and_runs_a_tool_round_trip()
    {
        var (_, key) = await gateway.TenantWithKey(budget: 5m);
        var (_, tiny) = await gateway.TenantWithKey(budget: 0.000001m);

        var (exit, output) = await NodeClient.RunAsync("node", ["anthropic-messages.mjs"], new Dictionary<string, string>
        {
            ["LANES_ROOT_URL"] = gateway.BaseAddress.ToString().TrimEnd('/'),
            ["LANES_API_KEY"] = key.Secret,
            ["LANES_TINY_KEY"] = tiny.Secret,
            ["LANES_MODEL"] = "scripted",
        }, TimeSpan.FromMinutes(2));

        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task The_anthropic_dotnet_sdk_creates_and_streams_a_message_and_sees_429_as_its_rate_limit_exception()
    {
        var (_, key) = await gateway.TenantWithKey(budget: 5m);
        var (_, tiny) = await gateway.TenantWithKey(budget: 0.000001m);
        global::Anthropic.AnthropicClient Client(string secret) => new() { ApiKey = secret, BaseUrl = gateway.BaseAddress.ToString().TrimEnd('/'), MaxRetries = 0 };
        var parameters = new global::Anthropic.Models.Messages.MessageCreateParams
        {
            Model = "scripted",
            MaxTokens = 4,
            Messages = [new global::Anthropic.Models.Messages.UserMessageParam { Content = "Hello" }],
        };

        var message = await Client(key.Secret).Messages.Create(parameters);
        var events = new List<string>();
        await foreach (var e in Client(key.Secret).Messages.CreateStreaming(parameters))
        {
            events.Add(e.Json.GetProperty("type").GetString()!);
        }

        Assert.True(message.Content[0].TryPickText(out var text));
        Assert.Equal("tok0 tok1 tok2 tok3", text!.Text);
        Assert.Equal(4, message.Usage.OutputTokens);
        Assert.Equal("message_start", events[0]);
        Assert.Contains("content_block_delta", events);
        Assert.Equal("message_stop", events[^1]);
        await Assert.ThrowsAsync<global::Anthropic.Exceptions.AnthropicRateLimitException>(() => Client(tiny.Secret).Messages.Create(parameters with { MaxTokens = 4000 }));
    }

    [Theory]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}]}""", 400, "invalid_request_error", "max_tokens")]
    [InlineData("""{"model":"nope","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}""", 404, "not_found_error", "nope")]
    [InlineData("""{"model":"scripted","max_tokens":5,"messages":[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_x","content":"1"}]}]}""", 400, "invalid_request_error", "tool_use_id")]
    [InlineData("""{"model":"scripted","max_tokens":5,"messages":[{"role":"user","content":"hi"}],"thinking":{"type":"enabled"}}""", 400, "invalid_request_error", "thinking")]
    public async Task Refusals_use_anthropics_error_shape_with_the_same_status_as_chat_completions(string body, int status, string type, string mentions)
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();
        using var request = Post("/v1/messages", null, body);
        request.Headers.Add("x-api-key", key.Secret);
        request.Headers.Add("anthropic-version", "2023-06-01");

        using var response = await http.SendAsync(request);
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal((HttpStatusCode)status, response.StatusCode);
        Assert.Equal("error", error.RootElement.GetProperty("type").GetString());
        Assert.Equal(type, error.RootElement.GetProperty("error").GetProperty("type").GetString());
        Assert.Contains(mentions, error.RootElement.GetProperty("error").GetProperty("message").GetString());
        Assert.True(response.Headers.Contains("x-lanes-budget-remaining-usd"));
    }

    [Fact]
    public async Task A_missing_key_is_an_authentication_error()
    {
        using var http = gateway.Http();

        using var response = await http.SendAsync(Post("/v1/messages", null, """{"model":"scripted","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}"""));
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("authentication_error", error.RootElement.GetProperty("error").GetProperty("type").GetString());
    }
}
