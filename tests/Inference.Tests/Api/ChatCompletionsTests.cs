using System.ClientModel;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;

namespace Lanes.Inference.Tests.Api;

public class ChatCompletionsTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    [Fact]
    public async Task The_official_client_gets_a_chat_completion_with_usage()
    {
        var (_, key) = await gateway.TenantWithKey();

        ChatCompletion completion = await gateway.Chat(key.Secret).CompleteChatAsync([new UserChatMessage("Say hello")]);

        Assert.Equal("tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8 tok9 tok10 tok11 tok12 tok13 tok14 tok15", completion.Content[0].Text);
        Assert.Equal(ChatFinishReason.Stop, completion.FinishReason);
        Assert.Equal(16, completion.Usage.OutputTokenCount);
        Assert.True(completion.Usage.InputTokenCount > 0);
        Assert.Equal("scripted", completion.Model);
    }

    [Fact]
    public async Task Streaming_delivers_every_token_then_usage()
    {
        var (_, key) = await gateway.TenantWithKey();

        var text = new StringBuilder();
        ChatTokenUsage? usage = null;
        ChatFinishReason? finish = null;
        await foreach (var update in gateway.Chat(key.Secret).CompleteChatStreamingAsync(
                           [new UserChatMessage("Count")], new ChatCompletionOptions { MaxOutputTokenCount = 5 }))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal("tok0 tok1 tok2 tok3 tok4", text.ToString());
        Assert.Equal(ChatFinishReason.Length, finish);
        Assert.Equal(5, usage!.OutputTokenCount);
    }

    [Fact]
    public async Task The_raw_stream_is_server_sent_events_ending_in_done()
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();
        using var request = Post("/v1/chat/completions", key.Secret,
            """{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":2,"stream":true,"stream_options":{"include_usage":true}}""");

        using var response = await http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType!.MediaType);
        var events = body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
        Assert.All(events, e => Assert.StartsWith("data: ", e));
        Assert.Equal("data: [DONE]", events[^1]);
        using var first = JsonDocument.Parse(events[0]["data: ".Length..]);
        Assert.Equal("chat.completion.chunk", first.RootElement.GetProperty("object").GetString());
        Assert.Equal("assistant", first.RootElement.GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        using var usage = JsonDocument.Parse(events[^2]["data: ".Length..]);
        Assert.Equal(0, usage.RootElement.GetProperty("choices").GetArrayLength());
        Assert.Equal(2, usage.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Legacy_completions_answer_in_their_own_shape()
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();

        using var response = await http.SendAsync(Post("/v1/completions", key.Secret, """{"model":"scripted","prompt":"Once upon","max_tokens":3}"""));
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text_completion", body.RootElement.GetProperty("object").GetString());
        Assert.Equal("tok0 tok1 tok2", body.RootElement.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("length", body.RootElement.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal(3, body.RootElement.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
    }

    [Fact]
    public async Task Models_lists_only_what_the_key_may_use()
    {
        var (_, open) = await gateway.TenantWithKey();
        var (_, limited) = await gateway.TenantWithKey(models: ["lanes-demo"]);

        var models = (await gateway.OpenAi(open.Secret).GetOpenAIModelClient().GetModelsAsync()).Value;
        var none = (await gateway.OpenAi(limited.Secret).GetOpenAIModelClient().GetModelsAsync()).Value;

        Assert.Contains(models, m => m.Id == "scripted");
        Assert.Empty(none);
    }

    [Fact]
    public async Task Every_response_carries_budget_window_and_lane_headers()
    {
        var (_, key) = await gateway.TenantWithKey(budget: 5m);
        using var http = gateway.Http();

        using var ok = await http.SendAsync(Post("/v1/chat/completions", key.Secret, """{"model":"scripted","messages":[{"role":"user","content":"hi"}]}"""));
        using var refused = await http.SendAsync(Post("/v1/chat/completions", key.Secret, """{"model":"nope","messages":[{"role":"user","content":"hi"}]}"""));

        foreach (var response in new[] { ok, refused })
        {
            Assert.Equal("6", Header(response, "x-lanes-lanes-reserved"));
            Assert.Equal("10000", Header(response, "x-ratelimit-limit-requests"));
            Assert.NotNull(Header(response, "x-ratelimit-remaining-requests"));
            Assert.NotNull(Header(response, "x-ratelimit-reset-requests"));
            Assert.True(decimal.Parse(Header(response, "x-lanes-budget-remaining-usd")!, System.Globalization.CultureInfo.InvariantCulture) < 5m);
            Assert.Equal(key.Key.WindowEnd.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ"), Header(response, "x-lanes-budget-resets-at"));
            Assert.Equal("0", Header(response, "x-lanes-lanes-borrowed"));
        }
    }

    [Fact]
    public async Task Usage_reports_the_keys_window_and_the_tenants_lanes()
    {
        var (_, key) = await gateway.TenantWithKey(budget: 2m);
        await gateway.Chat(key.Secret).CompleteChatAsync([new UserChatMessage("hi")]);
        using var http = gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/usage");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Secret);

        using var body = JsonDocument.Parse(await (await http.SendAsync(request)).Content.ReadAsStringAsync());

        var budget = body.RootElement.GetProperty("key").GetProperty("budget_usd");
        Assert.Equal(2m, budget.GetProperty("limit").GetDecimal());
        Assert.True(budget.GetProperty("spent").GetDecimal() > 0m);
        Assert.Equal(2m - budget.GetProperty("spent").GetDecimal(), budget.GetProperty("remaining").GetDecimal());
        Assert.Equal(6, body.RootElement.GetProperty("lanes").GetProperty("reserved").GetInt32());
        Assert.Equal(9_999, body.RootElement.GetProperty("requests").GetProperty("remaining").GetInt64());
    }

    [Fact]
    public async Task Metrics_expose_requests_lanes_and_latencies_for_prometheus()
    {
        var (tenant, key) = await gateway.TenantWithKey();
        await gateway.Chat(key.Secret).CompleteChatAsync([new UserChatMessage("hi")]);
        using var http = gateway.Http();

        var metrics = await Testing.Eventually.Get(() => http.GetStringAsync("/metrics"),
            m => m.Contains("lanes_gateway_requests", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the requests counter");

        Assert.Contains("outcome=\"ok\"", metrics);
        Assert.Contains("lanes_gateway_queue_wait_seconds_bucket", metrics);
        Assert.Contains("lanes_gateway_time_to_first_token_seconds_bucket", metrics);
        Assert.Contains($"lanes_gateway_lanes_in_use{{otel_scope_name=\"Lanes.Gateway\",tenant=\"{tenant.Id}\"}}", metrics.Replace("otel_scope_version=\"\",", "", StringComparison.Ordinal));
    }

    internal static HttpRequestMessage Post(string path, string? secret, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (secret is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        }

        return request;
    }

    internal static string? Header(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.First() : null;
}
