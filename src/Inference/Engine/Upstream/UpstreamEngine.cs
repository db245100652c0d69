using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Engine.Upstream;

/// <summary>
/// Forwards to an OpenAI-compatible server, streaming, so lanes, budgets and metering apply exactly as with the
/// local engine. A chat request is forwarded as the client wrote it (tools, tool results, response formats and
/// sampling parameters pass through intact); only the model, streaming and the token limit the budget held are
/// rewritten. The prompt's size is estimated high before the call (UTF-8 bytes / 2, plus 4 per message and a fixed
/// allowance per image: no tokenizer yields fewer tokens than that for ordinary text), so the budget hold covers it;
/// the server's own usage report settles the cost.
/// </summary>
public sealed class UpstreamEngine(HttpClient http, IOptions<UpstreamEngineOptions> options) : IInferenceEngine
{
    /// <summary>Tokens held per image: more than vision models charge for one high-detail tile set.</summary>
    private const int TokensPerImage = 1_600;

    /// <summary>Fields the gateway decides: never forwarded as the client sent them.</summary>
    private static readonly HashSet<string> Rewritten = ["model", "stream", "stream_options", "max_tokens", "max_completion_tokens", "store", "metadata", "user"];

    private readonly UpstreamEngineOptions _options = options.Value;

    public IReadOnlyList<EngineModel> Models { get; } = options.Value.Models.Select(m => new EngineModel(m.Id, m.ContextTokens, "upstream", m.Features)).ToList();

    public int Slots => _options.Slots;

    public EnginePrompt PrepareChat(string model, ChatRequest request) =>
        new(model, request.Messages.Sum(m => Estimate(m.Content) + 4 + m.Images * TokensPerImage + (m.ToolCalls?.Sum(c => Estimate(c.Name) + Estimate(c.Arguments) + 4) ?? 0))
                   + request.Tools.Sum(t => Estimate(t.Name) + Estimate(t.Description ?? "") + Estimate(t.Parameters.GetRawText()) + 8), request);

    public EnginePrompt PrepareCompletion(string model, string prompt) => new(model, Estimate(prompt), prompt);

    public async IAsyncEnumerable<GeneratedChunk> GenerateAsync(EnginePrompt prompt, Sampling sampling, [EnumeratorCancellation] CancellationToken ct)
    {
        var chat = prompt.State as ChatRequest;
        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_options.BaseUrl.TrimEnd('/')}/{(chat is not null ? "chat/completions" : "completions")}")
        {
            Content = new ByteArrayContent(Body(prompt, chat, sampling)) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") } },
        };
        if (_options.ApiKey is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        }
        catch (HttpRequestException e)
        {
            throw new EngineUnavailable("The upstream inference server could not be reached.", e);
        }
        catch (TaskCanceledException e) when (!ct.IsCancellationRequested)
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

            await using var stream = await response.Content.ReadAsStreamAsync(ct);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var counted = 0;
            FinishReason? finish = null;
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (!line.StartsWith("data:", StringComparison.Ordinal))
                {
                    continue;
                }

                var data = line.AsMemory(5).TrimStart(' ');
                if (data.Span.SequenceEqual("[DONE]"))
                {
                    break;
                }

                using var chunk = Parse(data);
                var root = chunk.RootElement;
                if (root.TryGetProperty("choices", out var choices) && choices.ValueKind == JsonValueKind.Array && choices.GetArrayLength() > 0)
                {
                    var choice = choices[0];
                    if (choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String)
                    {
                        finish = f.GetString() switch
                        {
                            "length" => FinishReason.Length,
                            "tool_calls" or "function_call" => FinishReason.ToolCalls,
                            "content_filter" => FinishReason.ContentFilter,
                            _ => FinishReason.Stop,
                        };
                    }

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

                if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object
                    && usage.TryGetProperty("completion_tokens", out var ctk) && ctk.TryGetInt32(out var completion)
                    && usage.TryGetProperty("prompt_tokens", out var ptk) && ptk.TryGetInt32(out var promptTokens))
                {
                    // The server's count replaces ours: the difference is reported on the last chunk.
                    int? cached = usage.TryGetProperty("prompt_tokens_details", out var details) && details.ValueKind == JsonValueKind.Object
                                  && details.TryGetProperty("cached_tokens", out var ct2) && ct2.TryGetInt32(out var c2) ? c2 : null;
                    yield return new GeneratedChunk("", completion - counted, finish ?? FinishReason.Stop, promptTokens) { CachedPromptTokens = cached };
                    counted = completion;
                    finish = null;
                }
            }

            if (finish is { } last)
            {
                yield return new GeneratedChunk("", 0, last);
            }
        }
    }

    private static JsonDocument Parse(ReadOnlyMemory<char> data)
    {
        try
        {
            return JsonDocument.Parse(data);
        }
        catch (JsonException e)
        {
            throw new EngineUnavailable("The upstream inference server sent a malformed stream.", e);
        }
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
            w.WriteString("model", _options.Models.First(m => m.Id == prompt.Model).UpstreamId ?? prompt.Model);
            w.WriteBoolean("stream", true);
            w.WriteStartObject("stream_options");
            w.WriteBoolean("include_usage", true);
            w.WriteEndObject();
            w.WriteNumber("max_tokens", sampling.MaxTokens);
            if (chat?.Raw is { ValueKind: JsonValueKind.Object } raw)
            {
                // Note: nothing is stored upstream on the client's behalf either.
                foreach (var p in raw.EnumerateObject())
                {
                    if (!Rewritten.Contains(p.Name))
                    {
                        p.WriteTo(w);
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
