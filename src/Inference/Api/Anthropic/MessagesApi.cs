using Lanes.Inference.Admission;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lanes.Billing.GatewayContract;
using Lanes.Inference.Engine;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Api.Anthropic;

/// <summary>
/// The Anthropic Messages door: <c>POST /v1/messages</c> and <c>/v1/messages/count_tokens</c>, so Claude-style agents
/// work by setting <c>ANTHROPIC_BASE_URL</c>. Requests are translated onto the same admission path as Chat Completions
/// (key, subscription, model, context, requests per window, budget hold, lane, engine, metering, rate headers);
/// only the wire differs: <c>x-api-key</c> or a bearer token, Anthropic's content blocks and stream events, and its
/// error shape <c>{"type":"error","error":{"type","message"}}</c> with the same status codes.
/// </summary>
public static class MessagesApi
{
    public static IEndpointRouteBuilder MapMessagesApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/messages", MessagesAsync);
        app.MapPost("/v1/messages/count_tokens", CountTokensAsync);
        return app;
    }

    private static Task MessagesAsync(HttpContext http, AdmissionPipeline pipeline, IOptions<GatewayOptions> options) =>
        OpenAiApi.AnswerAsync(http, Messages(http, pipeline, options.Value), WriteRefusalAsync);

    private static async Task<ApiRefusal?> Messages(HttpContext http, AdmissionPipeline pipeline, GatewayOptions options)
    {
        if (Authenticate(http, pipeline).IsRefused(out var refusal, out var key)
            || (await OpenAiApi.ReadBodyAsync(http, options, MessagesParser.Parse, JsonPathStyle.Dots)).IsRefused(out refusal, out var call))
        {
            return refusal;
        }

        return await Generate(http, pipeline, key, call);
    }

    private static Task CountTokensAsync(HttpContext http, AdmissionPipeline pipeline, IOptions<GatewayOptions> options) =>
        OpenAiApi.AnswerAsync(http, CountTokens(http, pipeline, options.Value), WriteRefusalAsync);

    private static async Task<ApiRefusal?> CountTokens(HttpContext http, AdmissionPipeline pipeline, GatewayOptions options)
    {
        if (Authenticate(http, pipeline).IsRefused(out var refusal, out var key)
            || (await OpenAiApi.ReadBodyAsync(http, options, MessagesParser.ParseForCount, JsonPathStyle.Dots)).IsRefused(out refusal, out var call)
            || pipeline.Prepare(key, call).IsRefused(out refusal, out var prompt))
        {
            return refusal;
        }

        await http.Response.WriteAsJsonAsync(new JsonObject { ["input_tokens"] = prompt.PromptTokens }, Wire.Json);
        return null;
    }

    /// <summary><c>GET /v1/models</c> as Anthropic lists models: the ones this key may use.</summary>
    public static Task ListModelsAsync(HttpContext http, AdmissionPipeline pipeline) =>
        OpenAiApi.AnswerAsync(http, ListModels(http, pipeline), WriteRefusalAsync);

    private static async Task<ApiRefusal?> ListModels(HttpContext http, AdmissionPipeline pipeline)
    {
        if (Authenticate(http, pipeline).IsRefused(out var refusal, out var key))
        {
            return refusal;
        }

        var models = pipeline.ModelsFor(key);
        var data = new JsonArray([.. models.Select(m => (JsonNode)new JsonObject
        {
            ["type"] = "model", ["id"] = m.Id, ["display_name"] = m.Id, ["created_at"] = "2026-01-01T00:00:00Z",
        })]);
        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["data"] = data, ["has_more"] = false, ["first_id"] = models.FirstOrDefault()?.Id, ["last_id"] = models.LastOrDefault()?.Id,
        }, Wire.Json);
        return null;
    }

    /// <summary><c>GET /v1/models/{id}</c> as Anthropic retrieves a model.</summary>
    public static Task GetModelAsync(HttpContext http, AdmissionPipeline pipeline, string id) =>
        OpenAiApi.AnswerAsync(http, GetModel(http, pipeline, id), WriteRefusalAsync);

    private static async Task<ApiRefusal?> GetModel(HttpContext http, AdmissionPipeline pipeline, string id)
    {
        if (Authenticate(http, pipeline).IsRefused(out var refusal, out var key)
            || OpenAiApi.ModelFor(pipeline, key, id).IsRefused(out refusal, out var model))
        {
            return refusal;
        }

        await http.Response.WriteAsJsonAsync(new JsonObject
        {
            ["type"] = "model", ["id"] = model.Id, ["display_name"] = model.Id, ["created_at"] = "2026-01-01T00:00:00Z",
        }, Wire.Json);
        return null;
    }

    /// <summary>Anthropic's SDKs send <c>x-api-key</c>; a bearer token works too.</summary>
    private static Refusable<KeyStatus> Authenticate(HttpContext http, AdmissionPipeline pipeline)
    {
        var apiKey = http.Request.Headers["x-api-key"].ToString();
        return apiKey.Length > 0
            ? OpenAiApi.WithStanding(http, pipeline, pipeline.AuthenticateSecret(apiKey, 0, OpenAiApi.ConnectionItems(http)))
            : OpenAiApi.Authenticate(http, pipeline, http.Request.Headers.Authorization.ToString());
    }

    /// <summary>A refusal in Anthropic's shape with the same status codes; once a stream has begun, as Anthropic
    /// sends it: an <c>error</c> event.</summary>
    internal static Task WriteRefusalAsync(HttpContext http, ApiRefusal refusal)
    {
        if (http.Response.HasStarted)
        {
            return Event(http, "error", ErrorBody(refusal));
        }

        OpenAiApi.SetStatus(http.Response, refusal);
        return http.Response.WriteAsJsonAsync(ErrorBody(refusal), Wire.Json);
    }

    internal static JsonObject ErrorBody(ApiRefusal error) => new()
    {
        ["type"] = "error",
        ["error"] = new JsonObject
        {
            ["type"] = error.Status switch
            {
                400 => "invalid_request_error",
                401 => "authentication_error",
                403 => "permission_error",
                404 => "not_found_error",
                413 => "request_too_large",
                429 => "rate_limit_error",
                503 => "overloaded_error",
                _ => "api_error",
            },
            // Anthropic's shape has no param: like Anthropic, the message starts with the field it is about.
            ["message"] = error.Param is { } param && !error.Message.StartsWith(param + ":", StringComparison.Ordinal) ? $"{param}: {error.Message}" : error.Message,
        },
    };

    private static async Task<ApiRefusal?> Generate(HttpContext http, AdmissionPipeline pipeline, KeyStatus key, GenerationCall call)
    {
        if ((await pipeline.AdmitAsync(key, call, http.RequestAborted)).IsRefused(out var refusal, out var admission))
        {
            return refusal;
        }

        var id = "msg_" + Guid.NewGuid().ToString("N")[..24];
        var started = Stopwatch.GetTimestamp();
        TimeSpan? firstToken = null;
        long tokens = 0, promptTokens = admission.Prompt.PromptTokens, cached = 0;
        var finish = FinishReason.Stop;
        var outcome = "ok";
        var blocks = new List<JsonObject>();
        var texts = new StringBuilder();
        var calls = new SortedDictionary<int, (string Id, string Name, StringBuilder Input, int Block)>();
        var open = -1; // index of the block being streamed
        var openIsText = false;
        try
        {
            if (call.Stream)
            {
                http.Response.ContentType = "text/event-stream";
                http.Response.Headers.CacheControl = "no-cache";
                await Event(http, "message_start", new JsonObject
                {
                    ["type"] = "message_start",
                    ["message"] = Message(id, call.Model, new JsonArray(), null, promptTokens, 1),
                });
                await Event(http, "ping", new JsonObject { ["type"] = "ping" });
            }

            await foreach (var chunk in pipeline.Engine.GenerateAsync(admission.Prompt, admission.Sampling, http.RequestAborted))
            {
                firstToken ??= pipeline.Clock.GetUtcNow() - admission.ArrivedAt;
                tokens += chunk.Tokens;
                promptTokens = chunk.PromptTokens ?? promptTokens;
                cached = chunk.CachedPromptTokens ?? cached;
                finish = chunk.Finish ?? finish;
                if (chunk.Text.Length > 0)
                {
                    if (!call.Stream)
                    {
                        texts.Append(chunk.Text);
                        continue;
                    }

                    if (open < 0 || !openIsText)
                    {
                        await Close();
                        open++;
                        openIsText = true;
                        await Event(http, "content_block_start", new JsonObject { ["type"] = "content_block_start", ["index"] = open, ["content_block"] = new JsonObject { ["type"] = "text", ["text"] = "" } });
                    }

                    await Event(http, "content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = open, ["delta"] = new JsonObject { ["type"] = "text_delta", ["text"] = chunk.Text } });
                }

                if (chunk.ToolCall is { } piece)
                {
                    if (!calls.TryGetValue(piece.Index, out var c))
                    {
                        if (call.Stream)
                        {
                            await Close();
                            open++;
                            openIsText = false;
                        }

                        c = (ToolUseId(piece.Id), piece.Name ?? "", new StringBuilder(), open);
                        calls[piece.Index] = c;
                        if (call.Stream)
                        {
                            await Event(http, "content_block_start", new JsonObject
                            {
                                ["type"] = "content_block_start", ["index"] = open,
                                ["content_block"] = new JsonObject { ["type"] = "tool_use", ["id"] = c.Id, ["name"] = c.Name, ["input"] = new JsonObject() },
                            });
                        }
                    }

                    c.Input.Append(piece.Arguments);
                    if (call.Stream && !string.IsNullOrEmpty(piece.Arguments))
                    {
                        await Event(http, "content_block_delta", new JsonObject { ["type"] = "content_block_delta", ["index"] = c.Block, ["delta"] = new JsonObject { ["type"] = "input_json_delta", ["partial_json"] = piece.Arguments } });
                    }
                }
            }

            pipeline.Complete(admission, promptTokens, cached, tokens, firstToken, Stopwatch.GetElapsedTime(started), outcome);
            var stopReason = finish switch
            {
                FinishReason.Length => "max_tokens",
                FinishReason.ToolCalls => "tool_use",
                _ => calls.Count > 0 ? "tool_use" : "end_turn",
            };
            if (!call.Stream)
            {
                var content = new JsonArray();
                if (texts.Length > 0)
                {
                    content.Add(new JsonObject { ["type"] = "text", ["text"] = texts.ToString() });
                }

                foreach (var c in calls.Values)
                {
                    content.Add(new JsonObject { ["type"] = "tool_use", ["id"] = c.Id, ["name"] = c.Name, ["input"] = Input(c.Input.ToString()) });
                }

                await JsonAnswers.WriteAsync(http, Message(id, call.Model, content, stopReason, promptTokens, tokens, cached), http.RequestAborted);
                return null;
            }

            await Close();
            await Event(http, "message_delta", new JsonObject
            {
                ["type"] = "message_delta",
                ["delta"] = new JsonObject { ["stop_reason"] = stopReason, ["stop_sequence"] = null },
                ["usage"] = cached > 0
                    ? new JsonObject { ["input_tokens"] = promptTokens - cached, ["cache_read_input_tokens"] = cached, ["output_tokens"] = tokens }
                    : new JsonObject { ["output_tokens"] = tokens },
            });
            await Event(http, "message_stop", new JsonObject { ["type"] = "message_stop" });
            return null;
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            outcome = "client_cancelled";
            throw;
        }
        catch (EngineRequestInvalid invalid)
        {
            outcome = "invalid_request";
            promptTokens = 0;
            return ApiRefusal.FromEngine(invalid);
        }
        catch (EngineUnavailable e)
        {
            outcome = "upstream_error";
            promptTokens = 0;
            return ApiRefusal.FromEngine(e);
        }
        finally
        {
            pipeline.Complete(admission, promptTokens, cached, tokens, firstToken, Stopwatch.GetElapsedTime(started), outcome);
        }

        async Task Close()
        {
            if (open >= 0 && call.Stream)
            {
                await Event(http, "content_block_stop", new JsonObject { ["type"] = "content_block_stop", ["index"] = open });
            }
        }
    }

    /// <summary>A message in Anthropic's shape. Its usage counts cached prompt tokens apart, as Anthropic does:
    /// <c>input_tokens</c> are those computed, <c>cache_read_input_tokens</c> those read from the prefix cache.</summary>
    private static JsonObject Message(string id, string model, JsonArray content, string? stopReason, long input, long output, long cached = 0) => new()
    {
        ["id"] = id,
        ["type"] = "message",
        ["role"] = "assistant",
        ["model"] = model,
        ["content"] = content,
        ["stop_reason"] = stopReason,
        ["stop_sequence"] = null,
        ["usage"] = cached > 0
            ? new JsonObject { ["input_tokens"] = input - cached, ["cache_read_input_tokens"] = cached, ["output_tokens"] = output }
            : new JsonObject { ["input_tokens"] = input, ["output_tokens"] = output },
    };

    /// <summary>Anthropic's tool-use ids look like <c>toolu_…</c>; an engine's own id is kept after that prefix.</summary>
    private static string ToolUseId(string? engineId) =>
        engineId is { Length: > 0 } e ? (e.StartsWith("toolu_", StringComparison.Ordinal) ? e : "toolu_" + e.Replace("call_", "", StringComparison.Ordinal)) : "toolu_" + Guid.NewGuid().ToString("N")[..24];

    /// <summary>The call's arguments as the object Anthropic returns; text that is not a JSON object is wrapped.</summary>
    private static JsonNode Input(string arguments)
    {
        try
        {
            return JsonNode.Parse(arguments.Length == 0 ? "{}" : arguments) is JsonObject o ? o : new JsonObject { ["value"] = arguments };
        }
        catch (JsonException)
        {
            return new JsonObject { ["raw"] = arguments };
        }
    }

    private static async Task Event(HttpContext http, string name, JsonObject data) => await ServerSentEvents.WriteAsync(http, name, data);
}
