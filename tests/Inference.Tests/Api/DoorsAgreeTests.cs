using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Api;

/// <summary>
/// The three doors are translations onto one admission path: for the same generated request (text, token limit,
/// sampling, tools, model, key) Chat Completions, Responses and Messages admit or refuse alike (same status, same
/// cause) and meter the same tokens.
/// </summary>
public class DoorsAgreeTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    private sealed record Case(string Text, int MaxTokens, double Temperature, bool Tool, bool KnownModel, bool Spent);

    private static readonly Gen<Case> Cases =
        Gen.Select(Gen.String[Gen.Char.AlphaNumeric, 1, 40], Gen.Int[1, 24], Gen.Double[0, 1], Gen.Bool, Gen.Frequency((5, Gen.Const(true)), (1, Gen.Const(false))), Gen.Frequency((5, Gen.Const(false)), (1, Gen.Const(true))))
            .Select(t => new Case(t.Item1, t.Item2, Math.Round(t.Item3, 2), t.Item4, t.Item5, t.Item6));

    [Fact]
    public async Task The_three_doors_admit_refuse_and_meter_identically()
    {
        var (_, key) = await gateway.TenantWithKey(budget: 50m);
        var (_, spent) = await gateway.TenantWithKey(budget: 0.000001m);
        using var http = gateway.Http();

        await Cases.SampleAsync(async c =>
        {
            var secret = c.Spent ? spent.Secret : key.Secret;
            var model = c.KnownModel ? "scripted" : "no-such-model";
            var text = c.Tool ? $"{c.Text}\ncall get_weather {{\"city\":\"{c.Text}\"}}" : c.Text;
            var parameters = """{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""";
            var maxTokens = c.Spent ? 4000 : c.MaxTokens;
            var chatTools = c.Tool ? ",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"get_weather\",\"parameters\":" + parameters + "}}]" : "";
            var responsesTools = c.Tool ? ",\"tools\":[{\"type\":\"function\",\"name\":\"get_weather\",\"parameters\":" + parameters + "}]" : "";
            var messagesTools = c.Tool ? ",\"tools\":[{\"name\":\"get_weather\",\"input_schema\":" + parameters + "}]" : "";

            var chat = await Send(http, "/v1/chat/completions", secret, $$"""
                {"model":"{{model}}","max_tokens":{{maxTokens}},"temperature":{{c.Temperature}},"messages":[{"role":"user","content":{{Json(text)}}}]
                 {{chatTools}}}
                """);
            var responses = await Send(http, "/v1/responses", secret, $$"""
                {"model":"{{model}}","max_output_tokens":{{maxTokens}},"temperature":{{c.Temperature}},"input":{{Json(text)}}
                 {{responsesTools}}}
                """);
            var messages = await Send(http, "/v1/messages", secret, $$"""
                {"model":"{{model}}","max_tokens":{{maxTokens}},"temperature":{{c.Temperature}},"messages":[{"role":"user","content":{{Json(text)}}}]
                 {{messagesTools}}}
                """);

            Assert.Equal(chat.Status, responses.Status);
            Assert.Equal(chat.Status, messages.Status);
            if (chat.Status == HttpStatusCode.OK)
            {
                var usage = (chat.Body["usage"]!["prompt_tokens"]!.GetValue<long>(), chat.Body["usage"]!["completion_tokens"]!.GetValue<long>());
                Assert.Equal(usage, (responses.Body["usage"]!["input_tokens"]!.GetValue<long>(), responses.Body["usage"]!["output_tokens"]!.GetValue<long>()));
                Assert.Equal(usage, (messages.Body["usage"]!["input_tokens"]!.GetValue<long>(), messages.Body["usage"]!["output_tokens"]!.GetValue<long>()));
                var called = chat.Body["choices"]![0]!["message"]!["tool_calls"] is not null;
                Assert.Equal(called, responses.Body["output"]!.AsArray().Any(o => o!["type"]!.GetValue<string>() == "function_call"));
                Assert.Equal(called, messages.Body["content"]!.AsArray().Any(b => b!["type"]!.GetValue<string>() == "tool_use"));
            }
            else
            {
                // Same cause: the OpenAI doors name the code; Anthropic's type follows from the shared status.
                Assert.Equal(chat.Body["error"]!["code"]!.GetValue<string>(), responses.Body["error"]!["code"]!.GetValue<string>());
                Assert.Equal(chat.Status == HttpStatusCode.TooManyRequests ? "rate_limit_error" : "not_found_error", messages.Body["error"]!["type"]!.GetValue<string>());
                // Retry-After counts whole seconds to the window's end: two calls a moment apart may straddle a second.
                Assert.Equal(chat.RetryAfter is null, messages.RetryAfter is null);
                if (chat.RetryAfter is not null)
                {
                    Assert.InRange(long.Parse(messages.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture),
                        long.Parse(chat.RetryAfter, System.Globalization.CultureInfo.InvariantCulture) - 1,
                        long.Parse(chat.RetryAfter, System.Globalization.CultureInfo.InvariantCulture));
                }
            }
        }, iter: 40, threads: 1);
    }

    private static string Json(string text) => JsonSerializer.Serialize(text);

    private static async Task<(HttpStatusCode Status, JsonNode Body, string? RetryAfter)> Send(HttpClient http, string path, string secret, string json)
    {
        using var response = await http.SendAsync(Post(path, secret, json));
        return (response.StatusCode, JsonNode.Parse(await response.Content.ReadAsStringAsync())!, Header(response, "Retry-After"));
    }
}
