using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Inference.Tests.Api.Tools;

/// <summary>
/// An OpenAI-compatible server on a loopback port that records each request body and sends back a canned reply, streamed or whole as asked
/// (a tool call in OpenAI's exact delta shape, with logprobs and usage), to prove what the gateway forwards and relays.
/// </summary>
public sealed class RecordingUpstream : IAsyncLifetime
{
    private WebApplication? _app;

    public ConcurrentQueue<JsonDocument> Requests { get; } = new();

    public string BaseUrl { get; private set; } = "";

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseSetting("urls", "http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            var request = await JsonDocument.ParseAsync(http.Request.Body);
            Requests.Enqueue(request);
            if (!request.RootElement.GetProperty("stream").GetBoolean())
            {
                // The same reply as one answer, as OpenAI sends it to a client that does not stream.
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync("""
                    {"id":"x","object":"chat.completion","created":1,"model":"up","choices":[{"index":0,
                     "message":{"role":"assistant","content":"Let me check.","tool_calls":[{"id":"call_up1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Oslo\"}"}}]},
                     "logprobs":{"content":[{"token":"Let","logprob":-0.1,"bytes":[76,101,116],"top_logprobs":[]}]},"finish_reason":"tool_calls"}],
                     "usage":{"prompt_tokens":40,"completion_tokens":9,"total_tokens":49,"prompt_tokens_details":{"cached_tokens":32}}}
                    """);
                return;
            }

            http.Response.ContentType = "text/event-stream";
            string[] events =
            [
                """{"id":"x","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{"role":"assistant","content":null},"finish_reason":null}]}""",
                """{"id":"x","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{"content":"Let me check."},"logprobs":{"content":[{"token":"Let","logprob":-0.1,"bytes":[76,101,116],"top_logprobs":[]}]},"finish_reason":null}]}""",
                """{"id":"x","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_up1","type":"function","function":{"name":"get_weather","arguments":""}}]},"finish_reason":null}]}""",
                """{"id":"x","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"city\":"}}]},"finish_reason":null}]}""",
                """{"id":"x","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"Oslo\"}"}}]},"finish_reason":null}]}""",
                """{"id":"x","object":"chat.completion.chunk","created":1,"model":"up","choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}]}""",
                """{"id":"x","object":"chat.completion.chunk","created":1,"model":"up","choices":[],"usage":{"prompt_tokens":40,"completion_tokens":9,"total_tokens":49,"prompt_tokens_details":{"cached_tokens":32}}}""",
                "[DONE]",
            ];
            foreach (var e in events)
            {
                await http.Response.WriteAsync($"data: {e}\n\n");
                await http.Response.Body.FlushAsync();
            }
        });
        await _app.StartAsync();
        BaseUrl = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/v1";
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync();
        }
    }
}
