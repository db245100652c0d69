using System.Text.Json;
using Lanes.Inference.Engine;

namespace Lanes.Inference.Api;

/// <summary>A validated chat or completion request, as the pipeline runs it.</summary>
public sealed record GenerationCall(
    string Model,
    IReadOnlyList<ChatTurn>? Messages,
    string? Prompt,
    int? MaxTokens,
    double? Temperature,
    double? TopP,
    long? Seed,
    IReadOnlyList<string> Stop,
    bool Stream,
    bool IncludeUsage)
{
    public bool IsChat => Messages is not null;
}

/// <summary>
/// Reads request bodies strictly: every parameter Lanes supports is checked, and every other one is refused by name
/// (OpenAI's neutral defaults, such as <c>n: 1</c> or <c>presence_penalty: 0</c>, are accepted).
/// </summary>
public static class RequestParser
{
    private static readonly HashSet<string> Ignored = ["user", "store", "metadata", "service_tier"];

    public static GenerationCall ParseChat(JsonElement body) => Parse(body, chat: true);

    public static GenerationCall ParseCompletion(JsonElement body) => Parse(body, chat: false);

    private static GenerationCall Parse(JsonElement body, bool chat)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw ApiError.InvalidRequest("The request body must be a JSON object.");
        }

        string? model = null;
        List<ChatTurn>? messages = null;
        string? prompt = null;
        int? maxTokens = null;
        double? temperature = null, topP = null;
        long? seed = null;
        var stop = new List<string>();
        bool stream = false, includeUsage = false;

        foreach (var p in body.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "model":
                    model = v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } m ? m : throw ApiError.InvalidRequest("'model' must be a non-empty string.", "model");
                    break;
                case "messages" when chat:
                    messages = ParseMessages(v);
                    break;
                case "prompt" when !chat:
                    prompt = v.ValueKind == JsonValueKind.String ? v.GetString()
                        : v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 1 && v[0].ValueKind == JsonValueKind.String ? v[0].GetString()
                        : throw ApiError.InvalidRequest("'prompt' must be a string (batches of prompts are not supported).", "prompt");
                    break;
                case "max_tokens" or "max_completion_tokens":
                    if (v.ValueKind != JsonValueKind.Null)
                    {
                        maxTokens = v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var mt) && mt >= 1 ? mt : throw ApiError.InvalidRequest($"'{p.Name}' must be a positive integer.", p.Name);
                    }

                    break;
                case "temperature":
                    temperature = Number(v, p.Name, 0, 2);
                    break;
                case "top_p":
                    topP = Number(v, p.Name, 0, 1);
                    break;
                case "seed":
                    if (v.ValueKind != JsonValueKind.Null)
                    {
                        seed = v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var s) ? s : throw ApiError.InvalidRequest("'seed' must be an integer.", "seed");
                    }

                    break;
                case "stop":
                    stop = ParseStop(v);
                    break;
                case "stream":
                    stream = v.ValueKind switch
                    {
                        JsonValueKind.True => true,
                        JsonValueKind.False or JsonValueKind.Null => false,
                        _ => throw ApiError.InvalidRequest("'stream' must be a boolean.", "stream"),
                    };
                    break;
                case "stream_options":
                    if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("include_usage", out var iu))
                    {
                        includeUsage = iu.ValueKind == JsonValueKind.True;
                    }

                    break;
                case "n" when v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Number && v.GetDouble() == 1):
                case "presence_penalty" or "frequency_penalty" when v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Number && v.GetDouble() == 0):
                case "logprobs" when v.ValueKind is JsonValueKind.False or JsonValueKind.Null:
                case "echo" when !chat && v.ValueKind is JsonValueKind.False or JsonValueKind.Null:
                case "parallel_tool_calls" when v.ValueKind is JsonValueKind.Null or JsonValueKind.True or JsonValueKind.False:
                case "response_format" when v.ValueKind == JsonValueKind.Object && v.TryGetProperty("type", out var rf) && rf.GetString() == "text":
                    break;
                case var name when Ignored.Contains(name):
                    break;
                default:
                    throw ApiError.InvalidRequest(
                        $"Unsupported parameter '{p.Name}'{(p.Name == "n" ? ": only n=1 is supported" : "")}. Lanes supports model, {(chat ? "messages" : "prompt")}, max_tokens, max_completion_tokens, temperature, top_p, seed, stop, stream, stream_options and user.",
                        p.Name, "unsupported_parameter");
            }
        }

        if (model is null)
        {
            throw ApiError.InvalidRequest("'model' is required.", "model");
        }

        if (chat && messages is null)
        {
            throw ApiError.InvalidRequest("'messages' is required.", "messages");
        }

        if (!chat && prompt is null)
        {
            throw ApiError.InvalidRequest("'prompt' is required.", "prompt");
        }

        return new GenerationCall(model, messages, prompt, maxTokens, temperature, topP, seed, stop, stream, stream && includeUsage);
    }

    private static List<ChatTurn> ParseMessages(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
        {
            throw ApiError.InvalidRequest("'messages' must be a non-empty array.", "messages");
        }

        var turns = new List<ChatTurn>();
        var i = 0;
        foreach (var m in v.EnumerateArray())
        {
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                throw ApiError.InvalidRequest($"messages[{i}] must be an object with a 'role'.", $"messages[{i}].role");
            }

            var r = role.GetString()!;
            if (r is not ("system" or "developer" or "user" or "assistant"))
            {
                throw ApiError.InvalidRequest($"messages[{i}].role '{r}' is not supported (tool messages need tools, which Lanes does not offer).", $"messages[{i}].role");
            }

            if (m.TryGetProperty("tool_calls", out _))
            {
                throw ApiError.InvalidRequest($"messages[{i}].tool_calls is not supported.", $"messages[{i}].tool_calls", "unsupported_parameter");
            }

            turns.Add(new ChatTurn(r == "developer" ? "system" : r, Content(m, i)));
            i++;
        }

        return turns;
    }

    private static string Content(JsonElement message, int i)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            throw ApiError.InvalidRequest($"messages[{i}].content is required.", $"messages[{i}].content");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind == JsonValueKind.Array)
        {
            // Content parts: text only.
            var text = new System.Text.StringBuilder();
            foreach (var part in content.EnumerateArray())
            {
                if (!part.TryGetProperty("type", out var type) || type.GetString() != "text" || !part.TryGetProperty("text", out var t))
                {
                    throw ApiError.InvalidRequest($"messages[{i}].content: only text parts are supported.", $"messages[{i}].content", "unsupported_parameter");
                }

                text.Append(t.GetString());
            }

            return text.ToString();
        }

        throw ApiError.InvalidRequest($"messages[{i}].content must be a string or an array of text parts.", $"messages[{i}].content");
    }

    private static List<string> ParseStop(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => [],
        JsonValueKind.String => [v.GetString()!],
        JsonValueKind.Array when v.GetArrayLength() <= 4 && v.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String && s.GetString()!.Length > 0) =>
            v.EnumerateArray().Select(s => s.GetString()!).ToList(),
        _ => throw ApiError.InvalidRequest("'stop' must be a string or an array of up to 4 non-empty strings.", "stop"),
    };

    private static double? Number(JsonElement v, string name, double min, double max)
    {
        if (v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.Number && v.GetDouble() is var d && d >= min && d <= max
            ? d
            : throw ApiError.InvalidRequest($"'{name}' must be a number between {min} and {max}.", name);
    }
}
