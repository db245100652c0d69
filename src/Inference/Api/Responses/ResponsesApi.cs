using Lanes.Inference.Admission;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lanes.Billing.GatewayContract;
using Lanes.Inference.Engine;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Api.Responses;

/// <summary>
/// The OpenAI Responses door, <c>POST /v1/responses</c> (stateless: nothing is stored), for Codex-style agents. The
/// request is translated onto the same admission path as Chat Completions; the reply is written as Responses
/// <c>output</c> items (<c>message</c> with <c>output_text</c>, <c>function_call</c>) or as its typed stream events,
/// each with a <c>sequence_number</c>. Refusals use OpenAI's error shape, as on Chat Completions.
/// </summary>
public static class ResponsesApi
{
    public static IEndpointRouteBuilder MapResponsesApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/responses", ResponsesAsync);
        return app;
    }

    private static Task ResponsesAsync(HttpContext http, AdmissionPipeline pipeline, IOptions<GatewayOptions> options) =>
        OpenAiApi.AnswerAsync(http, Respond(http, pipeline, options.Value), OpenAiApi.WriteRefusalAsync);

    private static async Task<ApiRefusal?> Respond(HttpContext http, AdmissionPipeline pipeline, GatewayOptions options)
    {
        if (OpenAiApi.Authenticate(http, pipeline, http.Request.Headers.Authorization).IsRefused(out var refusal, out var key)
            || (await OpenAiApi.ReadBodyAsync(http, options, ResponsesParser.Parse)).IsRefused(out refusal, out var call))
        {
            return refusal;
        }

        return await Generate(http, pipeline, key, call);
    }

    private static async Task<ApiRefusal?> Generate(HttpContext http, AdmissionPipeline pipeline, KeyStatus key, GenerationCall call)
    {
        if ((await pipeline.AdmitAsync(key, call, http.RequestAborted)).IsRefused(out var refusal, out var admission))
        {
            return refusal;
        }

        var reply = new Reply(http, call, pipeline.Clock.GetUtcNow().ToUnixTimeSeconds());
        var started = Stopwatch.GetTimestamp();
        TimeSpan? firstToken = null;
        long tokens = 0, promptTokens = admission.Prompt.PromptTokens, cached = 0;
        var finish = FinishReason.Stop;
        var outcome = "ok";
        try
        {
            await reply.StartAsync();
            await foreach (var chunk in pipeline.Engine.GenerateAsync(admission.Prompt, admission.Sampling, http.RequestAborted))
            {
                firstToken ??= pipeline.Clock.GetUtcNow() - admission.ArrivedAt;
                tokens += chunk.Tokens;
                promptTokens = chunk.PromptTokens ?? promptTokens;
                cached = chunk.CachedPromptTokens ?? cached;
                finish = chunk.Finish ?? finish;
                if (chunk.Text.Length > 0)
                {
                    await reply.TextAsync(chunk.Text);
                }

                if (chunk.ToolCall is { } piece)
                {
                    await reply.ToolCallAsync(piece);
                }
            }

            pipeline.Complete(admission, promptTokens, cached, tokens, firstToken, Stopwatch.GetElapsedTime(started), outcome);
            await reply.CompleteAsync(finish, promptTokens, tokens, cached);
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
            await reply.FailAsync("invalid_request", invalid.Message);
            return ApiRefusal.FromEngine(invalid);
        }
        catch (EngineUnavailable e)
        {
            outcome = "upstream_error";
            promptTokens = 0;
            await reply.FailAsync("server_error", e.Message);
            return ApiRefusal.FromEngine(e);
        }
        finally
        {
            pipeline.Complete(admission, promptTokens, cached, tokens, firstToken, Stopwatch.GetElapsedTime(started), outcome);
        }
    }

    /// <summary>Builds the response's output items as the engine produces them, and in a stream sends each change
    /// as the event the Responses API defines for it.</summary>
    private sealed class Reply(HttpContext http, GenerationCall call, long created)
    {
        private readonly string _id = "resp_" + Guid.NewGuid().ToString("N");
        private readonly List<JsonObject> _output = [];
        private readonly Dictionary<int, (int Output, StringBuilder Arguments)> _calls = [];
        private int _sequence;
        private int _textItem = -1;
        private StringBuilder? _text;

        private bool Streaming => call.Stream;

        public async Task StartAsync()
        {
            if (!Streaming)
            {
                return;
            }

            http.Response.ContentType = "text/event-stream";
            http.Response.Headers.CacheControl = "no-cache";
            await EventAsync("response.created", new JsonObject { ["response"] = Response("in_progress", null, null) });
            await EventAsync("response.in_progress", new JsonObject { ["response"] = Response("in_progress", null, null) });
        }

        public async Task TextAsync(string text)
        {
            if (_text is null)
            {
                await CloseTextAsync();
                _text = new StringBuilder();
                _textItem = _output.Count;
                _output.Add(new JsonObject { ["id"] = "msg_" + Guid.NewGuid().ToString("N"), ["type"] = "message", ["status"] = "in_progress", ["role"] = "assistant", ["content"] = new JsonArray() });
                if (Streaming)
                {
                    await EventAsync("response.output_item.added", new JsonObject { ["output_index"] = _textItem, ["item"] = _output[_textItem].DeepClone() });
                    await EventAsync("response.content_part.added", new JsonObject
                    {
                        ["item_id"] = ItemId(_textItem), ["output_index"] = _textItem, ["content_index"] = 0, ["part"] = Part(""),
                    });
                }
            }

            _text.Append(text);
            if (Streaming)
            {
                await EventAsync("response.output_text.delta", new JsonObject
                {
                    ["item_id"] = ItemId(_textItem), ["output_index"] = _textItem, ["content_index"] = 0, ["delta"] = text, ["logprobs"] = new JsonArray(),
                });
            }
        }

        public async Task ToolCallAsync(ToolCallDelta piece)
        {
            if (!_calls.TryGetValue(piece.Index, out var c))
            {
                await CloseTextAsync();
                c = (_output.Count, new StringBuilder());
                _calls[piece.Index] = c;
                var callId = piece.Id ?? "call_" + Guid.NewGuid().ToString("N")[..24];
                _output.Add(new JsonObject
                {
                    ["id"] = "fc_" + Guid.NewGuid().ToString("N"), ["type"] = "function_call", ["status"] = "in_progress",
                    ["arguments"] = "", ["call_id"] = callId, ["name"] = piece.Name ?? "",
                });
                if (Streaming)
                {
                    await EventAsync("response.output_item.added", new JsonObject { ["output_index"] = c.Output, ["item"] = _output[c.Output].DeepClone() });
                }
            }

            c.Arguments.Append(piece.Arguments);
            if (Streaming && !string.IsNullOrEmpty(piece.Arguments))
            {
                await EventAsync("response.function_call_arguments.delta", new JsonObject { ["item_id"] = ItemId(c.Output), ["output_index"] = c.Output, ["delta"] = piece.Arguments });
            }
        }

        public async Task CompleteAsync(FinishReason finish, long input, long output, long cached)
        {
            await CloseTextAsync();
            foreach (var (_, c) in _calls.OrderBy(k => k.Key))
            {
                var item = _output[c.Output];
                item["arguments"] = c.Arguments.ToString();
                item["status"] = "completed";
                if (Streaming)
                {
                    await EventAsync("response.function_call_arguments.done", new JsonObject { ["item_id"] = ItemId(c.Output), ["output_index"] = c.Output, ["arguments"] = c.Arguments.ToString() });
                    await EventAsync("response.output_item.done", new JsonObject { ["output_index"] = c.Output, ["item"] = item.DeepClone() });
                }
            }

            var incomplete = finish == FinishReason.Length;
            var usage = new JsonObject
            {
                ["input_tokens"] = input,
                ["input_tokens_details"] = new JsonObject { ["cached_tokens"] = cached },
                ["output_tokens"] = output,
                ["output_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 0 },
                ["total_tokens"] = input + output,
            };
            var response = Response(incomplete ? "incomplete" : "completed", usage, incomplete ? new JsonObject { ["reason"] = "max_output_tokens" } : null);
            if (Streaming)
            {
                await EventAsync(incomplete ? "response.incomplete" : "response.completed", new JsonObject { ["response"] = response });
                return;
            }

            await JsonAnswers.WriteAsync(http, response, http.RequestAborted);
        }

        /// <summary>A failure after the stream began: <c>response.failed</c>, then <c>error</c>. Before it began the
        /// caller answers with an ordinary error status instead.</summary>
        public async Task FailAsync(string code, string message)
        {
            if (!Streaming || !http.Response.HasStarted)
            {
                return;
            }

            var response = Response("failed", null, null);
            response["error"] = new JsonObject { ["code"] = code, ["message"] = message };
            await EventAsync("response.failed", new JsonObject { ["response"] = response });
            await EventAsync("error", new JsonObject { ["code"] = code, ["message"] = message, ["param"] = null });
        }

        private async Task CloseTextAsync()
        {
            if (_text is null)
            {
                return;
            }

            var item = _output[_textItem];
            var text = _text.ToString();
            item["content"] = new JsonArray(Part(text));
            item["status"] = "completed";
            if (Streaming)
            {
                await EventAsync("response.output_text.done", new JsonObject { ["item_id"] = ItemId(_textItem), ["output_index"] = _textItem, ["content_index"] = 0, ["text"] = text, ["logprobs"] = new JsonArray() });
                await EventAsync("response.content_part.done", new JsonObject { ["item_id"] = ItemId(_textItem), ["output_index"] = _textItem, ["content_index"] = 0, ["part"] = Part(text) });
                await EventAsync("response.output_item.done", new JsonObject { ["output_index"] = _textItem, ["item"] = item.DeepClone() });
            }

            _text = null;
        }

        private string ItemId(int output) => _output[output]["id"]!.GetValue<string>();

        private static JsonObject Part(string text) => new() { ["type"] = "output_text", ["text"] = text, ["annotations"] = new JsonArray(), ["logprobs"] = new JsonArray() };

        private JsonObject Response(string status, JsonObject? usage, JsonObject? incomplete)
        {
            var chat = call.Chat!;
            return new JsonObject
            {
                ["id"] = _id,
                ["object"] = "response",
                ["created_at"] = created,
                ["status"] = status,
                ["error"] = null,
                ["incomplete_details"] = incomplete,
                ["instructions"] = chat.Messages.FirstOrDefault(m => m.Role == "system")?.Content,
                ["max_output_tokens"] = call.MaxTokens,
                ["model"] = call.Model,
                ["output"] = new JsonArray([.. _output.Select(o => (JsonNode)o.DeepClone())]),
                ["parallel_tool_calls"] = chat.ParallelToolCalls,
                ["previous_response_id"] = null,
                ["store"] = false,
                ["temperature"] = call.Temperature,
                ["text"] = new JsonObject { ["format"] = new JsonObject { ["type"] = chat.Format.Kind switch { OutputFormatKind.JsonObject => "json_object", OutputFormatKind.JsonSchema => "json_schema", _ => "text" } } },
                ["tool_choice"] = chat.ToolChoice.Mode switch
                {
                    ToolChoiceMode.Named => new JsonObject { ["type"] = "function", ["name"] = chat.ToolChoice.Name },
                    ToolChoiceMode.None => "none",
                    ToolChoiceMode.Required => "required",
                    _ => "auto",
                },
                ["tools"] = new JsonArray([.. chat.Tools.Select(t => (JsonNode)new JsonObject
                {
                    ["type"] = "function", ["name"] = t.Name, ["description"] = t.Description, ["parameters"] = JsonNode.Parse(t.Parameters.GetRawText()), ["strict"] = t.Strict,
                })]),
                ["top_p"] = call.TopP,
                ["usage"] = usage,
                ["metadata"] = new JsonObject(),
            };
        }

        private async Task EventAsync(string type, JsonObject data)
        {
            var payload = new JsonObject { ["type"] = type, ["sequence_number"] = _sequence++ };
            foreach (var (name, value) in data.ToList())
            {
                data.Remove(name);
                payload[name] = value;
            }

            await ServerSentEvents.WriteAsync(http, type, payload);
        }
    }
}
