using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Engine.Upstream;

/// <summary>
/// Forwards to an OpenAI-compatible server, streaming when the client streams, so lanes, budgets and metering apply exactly as with the
/// local engine. A chat request is forwarded as the client wrote it (tools, tool results, response formats and
/// sampling parameters pass through intact); only the model, streaming and the token limit the budget held are
/// rewritten. The prompt's size is estimated high before the call (UTF-8 bytes / 2, plus 4 per message and a fixed
/// allowance per image: no tokenizer yields fewer tokens than that for ordinary text), so the budget hold covers it;
/// the server's own usage report settles the cost.
/// </summary>
public sealed class UpstreamEngine(HttpMessageInvoker http, IOptions<UpstreamEngineOptions> options) : IInferenceEngine, IDisposable
{
    /// <summary>Tokens held per image: more than vision models charge for one high-detail tile set.</summary>
    private const int TokensPerImage = 1_600;

    /// <summary>Fields the gateway decides: never forwarded as the client sent them.</summary>
    private static readonly HashSet<string> Rewritten = ["model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "store", "metadata", "user"];

    private static readonly MediaTypeHeaderValue Json = new("application/json");

    private readonly UpstreamEngineOptions _options = options.Value;

    private readonly Uri _chatUrl = new($"{options.Value.BaseUrl.TrimEnd('/')}/chat/completions");

    private readonly Uri _completionsUrl = new($"{options.Value.BaseUrl.TrimEnd('/')}/completions");

    private readonly AuthenticationHeaderValue? _authorization = options.Value.ApiKey is { Length: > 0 } key ? new("Bearer", key) : null;

    /// <summary>The upstream's name for each model, looked up once per request without a scan.</summary>
    private readonly Dictionary<string, string> _upstreamIds = options.Value.Models.ToDictionary(m => m.Id, m => m.UpstreamId ?? m.Id);

    /// <summary>The one connection pool every request shares: made here rather than by an HTTP client factory, so
    /// there is no per-call handler chain and no per-call log line.</summary>
    public static HttpMessageInvoker CreateInvoker() => new(new SocketsHttpHandler
    {
        // Note: a fleet behind DNS changes; connections are renewed so new addresses are picked up.
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        UseProxy = false,

        // A redirect from an inference API is a misconfiguration to report, not a POST to repeat elsewhere.
        AllowAutoRedirect = false,
    });

    public IReadOnlyList<EngineModel> Models { get; } = options.Value.Models.Select(m => new EngineModel(m.Id, m.ContextTokens, "upstream", m.Features)).ToList();

    public int Slots => _options.Slots;

    public void Dispose() => http.Dispose();

    public EnginePrompt PrepareChat(string model, ChatRequest request) =>
        new(model, request.Messages.Sum(m => Estimate(m.Content) + 4 + m.Images * TokensPerImage + (m.ToolCalls?.Sum(c => Estimate(c.Name) + Estimate(c.Arguments) + 4) ?? 0))
                   + request.Tools.Sum(t => Estimate(t.Name) + Estimate(t.Description ?? "") + Estimate(t.Parameters.GetRawText()) + 8), request);

    public EnginePrompt PrepareCompletion(string model, string prompt) => new(model, Estimate(prompt), prompt);

    /// <summary>
    /// A client that streams gets the upstream's events as they come (lanes and budgets see tokens as they are
    /// made); a client that waits for the whole answer gets it asked for whole, which costs the upstream and the
    /// gateway one parse instead of one per token. Either way the upstream's usage report settles the cost.
    /// </summary>
    public async IAsyncEnumerable<GeneratedChunk> GenerateAsync(EnginePrompt prompt, Sampling sampling, [EnumeratorCancellation] CancellationToken ct)
    {
        var chat = prompt.State as ChatRequest;
        using var request = new HttpRequestMessage(HttpMethod.Post, chat is not null ? _chatUrl : _completionsUrl)
        {
            Content = new ByteArrayContent(Body(prompt, chat, sampling)) { Headers = { ContentType = Json } },
        };
        request.Headers.Authorization = _authorization;

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(_options.Timeout);
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, timeout.Token);
        }
        catch (HttpRequestException e)
        {
            throw new EngineUnavailable("The upstream inference server could not be reached.", e);
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            throw new EngineUnavailable("The upstream inference server did not answer in time.", e);
        }

        using (response)
        {
            if (!response.IsSuccessStatusCode)
            {
                // Note: the upstream's error body may quote the prompt, so only its status is passed on.
                throw new EngineUnavailable($"The upstream inference server answered {(int)response.StatusCode}.");
            }

            await using var stream = await response.Content.ReadAsStreamAsync(timeout.Token);
            if (!sampling.Streamed)
            {
                foreach (var chunk in await ReadAnswerAsync(stream, chat is not null, timeout.Token))
                {
                    yield return chunk;
                }

                yield break;
            }

            var counted = 0;
            FinishReason? finish = null;
            await foreach (var item in SseParser.Create(stream, static (_, data) => Event(data)).EnumerateAsync(timeout.Token))
            {
                if (item.Data is not { } chunk)
                {
                    break; // [DONE]
                }

                using (chunk)
                {
                    var root = chunk.RootElement;
                    if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
                    {
                        var choice = choices[0];
                        finish = FinishOf(choice) ?? finish;
                        JsonElement? logprobs = choice.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.Object ? lp.Clone() : null;
                        if (chat is null)
                        {
                            if (choice.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() is { Length: > 0 } piece)
                            {
                                counted++;
                                yield return new GeneratedChunk(piece, 1, null) { Logprobs = logprobs };
                            }
                        }
                        else if (choice.TryGetProperty("delta", out var delta) && delta.ValueKind == JsonValueKind.Object)
                        {
                            if (delta.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                            {
                                foreach (var call in calls.EnumerateArray())
                                {
                                    counted++;
                                    yield return new GeneratedChunk("", 1, null) { ToolCall = ToolCallPiece(call) };
                                }
                            }

                            if (delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String && c.GetString() is { Length: > 0 } text)
                            {
                                counted++;
                                yield return new GeneratedChunk(text, 1, null) { Logprobs = logprobs };
                            }
                        }
                    }

                    if (UsageOf(root) is var (promptTokens, completion, cached))
                    {
                        // The server's count replaces ours: the difference is reported on the last chunk.
                        yield return new GeneratedChunk("", completion - counted, finish ?? FinishReason.Stop, promptTokens) { CachedPromptTokens = cached };
                        counted = completion;
                        finish = null;
                    }
                }
            }

            if (finish is { } last)
            {
                yield return new GeneratedChunk("", 0, last);
            }
        }
    }

    /// <summary>One stream event's JSON; null for the closing <c>[DONE]</c>.</summary>
    private static JsonDocument? Event(ReadOnlySpan<byte> data)
    {
        if (data.SequenceEqual("[DONE]"u8))
        {
            return null;
        }

        try
        {
            return JsonDocument.Parse(data.ToArray());
        }
        catch (JsonException e)
        {
            throw new EngineUnavailable("The upstream inference server sent a malformed stream.", e);
        }
    }

    /// <summary>A whole answer as the chunks a stream of it would have carried: its tool calls, then its text with
    /// the finish, the upstream's token counts and its logprobs.</summary>
    private static async Task<List<GeneratedChunk>> ReadAnswerAsync(Stream stream, bool chat, CancellationToken ct)
    {
        JsonDocument answer;
        try
        {
            answer = await JsonDocument.ParseAsync(stream, default, ct);
        }
        catch (JsonException e)
        {
            throw new EngineUnavailable("The upstream inference server sent a malformed answer.", e);
        }

        using (answer)
        {
            var root = answer.RootElement;
            var chunks = new List<GeneratedChunk>(2);
            string text = "";
            FinishReason? finish = null;
            JsonElement? logprobs = null;
            var estimated = 0;
            if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
            {
                var choice = choices[0];
                finish = FinishOf(choice);
                logprobs = choice.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.Object ? lp.Clone() : null;
                var holder = chat ? (choice.TryGetProperty("message", out var m) && m.ValueKind == JsonValueKind.Object ? m : default) : choice;
                if (holder.ValueKind == JsonValueKind.Object)
                {
                    if (holder.TryGetProperty(chat ? "content" : "text", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        text = t.GetString()!;
                        estimated += text.Length > 0 ? Estimate(text) : 0;
                    }

                    if (chat && holder.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
                    {
                        var index = 0;
                        foreach (var call in calls.EnumerateArray())
                        {
                            var piece = ToolCallPiece(call) with { Index = index++ };
                            estimated += Estimate(piece.Name ?? "") + Estimate(piece.Arguments ?? "");
                            chunks.Add(new GeneratedChunk("", 0, null) { ToolCall = piece });
                        }
                    }
                }
            }
            else
            {
                throw new EngineUnavailable("The upstream inference server's answer has no choices.");
            }

            // Without the server's report, the answer is counted high, as the prompt was (UTF-8 bytes / 2).
            var (promptTokens, completion, cached) = UsageOf(root) ?? (null, estimated, null);
            chunks.Add(new GeneratedChunk(text, completion, finish ?? FinishReason.Stop, promptTokens) { CachedPromptTokens = cached, Logprobs = logprobs });
            return chunks;
        }
    }

    private static FinishReason? FinishOf(JsonElement choice) =>
        choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String
            ? f.ValueEquals("length"u8) ? FinishReason.Length
            : f.ValueEquals("tool_calls"u8) || f.ValueEquals("function_call"u8) ? FinishReason.ToolCalls
            : f.ValueEquals("content_filter"u8) ? FinishReason.ContentFilter
            : FinishReason.Stop
            : null;

    /// <summary>The server's usage report: prompt and completion tokens, and the prompt tokens it served from cache.</summary>
    private static (int? Prompt, int Completion, int? Cached)? UsageOf(JsonElement root)
    {
        if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
            && usage.TryGetProperty("completion_tokens", out var ctk) && ctk.TryGetInt32(out var completion)
            && usage.TryGetProperty("prompt_tokens", out var ptk) && ptk.TryGetInt32(out var promptTokens))
        {
            int? cached = usage.TryGetProperty("prompt_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object
                          && details.TryGetProperty("cached_tokens", out var c) && c.TryGetInt32(out var n) ? n : null;
            return (promptTokens, completion, cached);
        }

        return null;
    }

    private static ToolCallDelta ToolCallPiece(JsonElement call)
    {
        var index = call.TryGetProperty("index", out var i) && i.TryGetInt32(out var n) ? n : 0;
        string? id = call.TryGetProperty("id", out var idValue) && idValue.ValueKind == JsonValueKind.String ? idValue.GetString() : null;
        string? name = null, arguments = null;
        if (call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object)
        {
            name = f.TryGetProperty("name", out var nm) && nm.ValueKind == JsonValueKind.String ? nm.GetString() : null;
            arguments = f.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString() : null;
        }

        return new ToolCallDelta(index, id, name, arguments);
    }

    /// <summary>The request to send: the client's own fields (for chat), with model, streaming, usage and the held
    /// token limit set by the gateway.</summary>
    private byte[] Body(EnginePrompt prompt, ChatRequest? chat, Sampling sampling)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(1024);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("model", _upstreamIds.GetValueOrDefault(prompt.Model, prompt.Model));
            w.WriteBoolean("stream", sampling.Streamed);
            if (sampling.Streamed)
            {
                w.WriteStartObject("stream_options");
                w.WriteBoolean("include_usage", true);
                w.WriteEndObject();
            }

            w.WriteNumber("max_tokens", sampling.MaxTokens);
            if (chat?.Raw is { ValueKind: JsonValueKind.Object } raw)
            {
                // Note: nothing is stored upstream on the client's behalf either.
                foreach (var p in raw.EnumerateObject())
                {
                    if (!Rewritten.Contains(p.Name))
                    {
                        // The client's bytes as they came: nothing it wrote is parsed again or re-encoded.
                        w.WritePropertyName(p.Name);
                        w.WriteRawValue(JsonMarshal.GetRawUtf8Value(p.Value), skipInputValidation: true);
                    }
                }
            }
            else
            {
                if (chat is not null)
                {
                    // A request from another door (Anthropic Messages) is written as Chat Completions.
                    WriteChat(w, chat);
                }
                else
                {
                    w.WriteString("prompt", (string)prompt.State);
                }

                if (sampling.Temperature is { } temperature)
                {
                    w.WriteNumber("temperature", temperature);
                }

                if (sampling.TopP is { } topP)
                {
                    w.WriteNumber("top_p", topP);
                }

                if (sampling.Seed is { } seed)
                {
                    w.WriteNumber("seed", seed);
                }

                if (sampling.Stop is { Count: > 0 } stop)
                {
                    w.WriteStartArray("stop");
                    foreach (var s in stop)
                    {
                        w.WriteStringValue(s);
                    }

                    w.WriteEndArray();
                }
            }

            w.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void WriteChat(Utf8JsonWriter w, ChatRequest chat)
    {
        w.WriteStartArray("messages");
        foreach (var t in chat.Messages)
        {
            w.WriteStartObject();
            w.WriteString("role", t.Role);
            if (t.ToolCalls is { Count: > 0 } calls)
            {
                if (t.Content.Length > 0)
                {
                    w.WriteString("content", t.Content);
                }
                else
                {
                    w.WriteNull("content");
                }

                w.WriteStartArray("tool_calls");
                foreach (var c in calls)
                {
                    w.WriteStartObject();
                    w.WriteString("id", c.Id);
                    w.WriteString("type", "function");
                    w.WriteStartObject("function");
                    w.WriteString("name", c.Name);
                    w.WriteString("arguments", c.Arguments);
                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
            }
            else
            {
                w.WriteString("content", t.Content);
            }

            if (t.ToolCallId is { } id)
            {
                w.WriteString("tool_call_id", id);
            }

            w.WriteEndObject();
        }

        w.WriteEndArray();
        if (chat.Format.Kind != OutputFormatKind.Text)
        {
            w.WriteStartObject("response_format");
            w.WriteString("type", chat.Format.Kind == OutputFormatKind.JsonObject ? "json_object" : "json_schema");
            if (chat.Format is { Kind: OutputFormatKind.JsonSchema, Schema: { } schema })
            {
                w.WriteStartObject("json_schema");
                w.WriteString("name", chat.Format.Name ?? "output");
                w.WritePropertyName("schema");
                schema.WriteTo(w);
                w.WriteBoolean("strict", chat.Format.Strict);
                w.WriteEndObject();
            }

            w.WriteEndObject();
        }

        if (chat.Tools.Count == 0)
        {
            return;
        }

        w.WriteStartArray("tools");
        foreach (var tool in chat.Tools)
        {
            w.WriteStartObject();
            w.WriteString("type", "function");
            w.WriteStartObject("function");
            w.WriteString("name", tool.Name);
            if (tool.Description is { } d)
            {
                w.WriteString("description", d);
            }

            w.WritePropertyName("parameters");
            tool.Parameters.WriteTo(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }

        w.WriteEndArray();
        switch (chat.ToolChoice.Mode)
        {
            case ToolChoiceMode.Named:
                w.WriteStartObject("tool_choice");
                w.WriteString("type", "function");
                w.WriteStartObject("function");
                w.WriteString("name", chat.ToolChoice.Name);
                w.WriteEndObject();
                w.WriteEndObject();
                break;
            default:
                w.WriteString("tool_choice", chat.ToolChoice.Mode switch { ToolChoiceMode.None => "none", ToolChoiceMode.Required => "required", _ => "auto" });
                break;
        }

        w.WriteBoolean("parallel_tool_calls", chat.ParallelToolCalls);
    }

    private static int Estimate(string text) => Encoding.UTF8.GetByteCount(text) / 2 + 1;
}
