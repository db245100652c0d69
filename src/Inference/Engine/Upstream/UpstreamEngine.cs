using System.Net.Http.Headers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Engine.Upstream;

/// <summary>
/// Forwards to an OpenAI-compatible server, streaming, so lanes, budgets and metering apply exactly as with the
/// local engine. The prompt's size is estimated high before the call (UTF-8 bytes / 2, plus 4 per message: no
/// tokenizer yields fewer tokens than that for ordinary text), so the budget hold covers it; the server's own
/// usage report settles the cost.
/// </summary>
public sealed class UpstreamEngine(HttpClient http, IOptions<UpstreamEngineOptions> options) : IInferenceEngine
{
    private readonly UpstreamEngineOptions _options = options.Value;

    public IReadOnlyList<EngineModel> Models { get; } = options.Value.Models.Select(m => new EngineModel(m.Id, m.ContextTokens, "upstream")).ToList();

    public int Slots => _options.Slots;

    public EnginePrompt PrepareChat(string model, IReadOnlyList<ChatTurn> messages) =>
        new(model, messages.Sum(m => Estimate(m.Content) + 4), messages);

    public EnginePrompt PrepareCompletion(string model, string prompt) => new(model, Estimate(prompt), prompt);

    public async IAsyncEnumerable<GeneratedChunk> GenerateAsync(EnginePrompt prompt, Sampling sampling, [EnumeratorCancellation] CancellationToken ct)
    {
        var chat = prompt.State is IReadOnlyList<ChatTurn>;
        var body = new JsonObject
        {
            ["model"] = _options.Models.First(m => m.Id == prompt.Model).UpstreamId ?? prompt.Model,
            ["stream"] = true,
            ["stream_options"] = new JsonObject { ["include_usage"] = true },
            ["max_tokens"] = sampling.MaxTokens,
        };
        if (prompt.State is IReadOnlyList<ChatTurn> turns)
        {
            body["messages"] = new JsonArray(turns.Select(t => (JsonNode)new JsonObject { ["role"] = t.Role, ["content"] = t.Content }).ToArray());
        }
        else
        {
            body["prompt"] = (string)prompt.State;
        }

        if (sampling.Temperature is { } temperature)
        {
            body["temperature"] = temperature;
        }

        if (sampling.TopP is { } topP)
        {
            body["top_p"] = topP;
        }

        if (sampling.Seed is { } seed)
        {
            body["seed"] = seed;
        }

        if (sampling.Stop is { Count: > 0 } stop)
        {
            body["stop"] = new JsonArray(stop.Select(s => (JsonNode)s).ToArray());
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, $"{_options.BaseUrl.TrimEnd('/')}/{(chat ? "chat/completions" : "completions")}")
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"),
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
                if (!line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    continue;
                }

                var data = line.AsMemory(6);
                if (data.Span.SequenceEqual("[DONE]"))
                {
                    break;
                }

                using var chunk = JsonDocument.Parse(data);
                var root = chunk.RootElement;
                if (root.TryGetProperty("choices", out var choices) && choices.GetArrayLength() > 0)
                {
                    var choice = choices[0];
                    var text = chat
                        ? choice.TryGetProperty("delta", out var delta) && delta.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String ? c.GetString() : null
                        : choice.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
                    if (choice.TryGetProperty("finish_reason", out var f) && f.ValueKind == JsonValueKind.String)
                    {
                        finish = f.GetString() == "length" ? FinishReason.Length : FinishReason.Stop;
                    }

                    if (!string.IsNullOrEmpty(text))
                    {
                        counted++;
                        yield return new GeneratedChunk(text, 1, null);
                    }
                }

                if (root.TryGetProperty("usage", out var usage) && usage.ValueKind == JsonValueKind.Object)
                {
                    // The server's count replaces ours: the difference is reported on the last chunk.
                    var completion = usage.GetProperty("completion_tokens").GetInt32();
                    yield return new GeneratedChunk("", completion - counted, finish ?? FinishReason.Stop, usage.GetProperty("prompt_tokens").GetInt32());
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

    private static int Estimate(string text) => Encoding.UTF8.GetByteCount(text) / 2 + 1;
}
