using System.Text.Json;
using Lanes.Inference.Engine;

namespace Lanes.Inference.Api;

/// <summary>
/// Reads request bodies strictly: every parameter of OpenAI's Chat Completions and Completions schemas is checked for
/// type and range, parameters that need an engine feature are recorded so the gateway can refuse them by name when
/// the serving engine lacks it, and anything unknown is refused by name.
/// </summary>
public static class RequestParser
{
    /// <summary>Accepted and not acted on: they describe the caller or ask for service options with no meaning here.
    /// Nothing is stored, whatever <c>metadata</c> says.</summary>
    private static readonly HashSet<string> Hints =
        ["user", "metadata", "service_tier", "reasoning_effort", "verbosity", "prompt_cache_key", "safety_identifier", "modalities"];

    public static GenerationCall ParseChat(JsonElement body) => Parse(body, chat: true);

    public static GenerationCall ParseCompletion(JsonElement body) => Parse(body, chat: false);

    private static GenerationCall Parse(JsonElement body, bool chat)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestBody("The request body must be a JSON object.");
        }

        string? model = null;
        List<ChatTurn>? messages = null;
        string? prompt = null;
        int? maxTokens = null;
        double? temperature = null, topP = null;
        long? seed = null;
        var stop = new List<string>();
        bool stream = false, includeUsage = false;
        var needs = new List<(EngineFeatures, string)>();
        JsonElement? toolsElement = null, toolChoiceElement = null;
        var parallelToolCalls = true;
        var format = OutputFormat.Text;
        bool logprobs = false;
        int? topLogprobs = null;

        foreach (var p in body.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "model":
                    model = v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } m ? m : throw new InvalidRequestBody("'model' must be a non-empty string.", "model");
                    break;
                case "messages" when chat:
                    messages = ChatMessagesParser.Parse(v, needs);
                    break;
                case "prompt" when !chat:
                    prompt = v.ValueKind == JsonValueKind.String ? v.GetString()
                        : v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 1 && v[0].ValueKind == JsonValueKind.String ? v[0].GetString()
                        : throw new InvalidRequestBody("'prompt' must be a string (batches of prompts are not supported).", "prompt");
                    break;
                case "max_tokens" or "max_completion_tokens":
                    if (v.ValueKind != JsonValueKind.Null)
                    {
                        maxTokens = v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var mt) && mt >= 1 ? mt : throw new InvalidRequestBody($"'{p.Name}' must be a positive integer.", p.Name);
                    }

                    break;
                case "temperature":
                    temperature = Number(v, p.Name, 0, 2);
                    break;
                case "top_p":
                    topP = Number(v, p.Name, 0, 1);
                    break;
                case "presence_penalty" or "frequency_penalty":
                    if (Number(v, p.Name, -2, 2) is { } penalty && penalty != 0)
                    {
                        needs.Add((EngineFeatures.Penalties, p.Name));
                        LegacyRefuses(chat, p.Name);
                    }

                    break;
                case "logit_bias":
                    if (LogitBias(v))
                    {
                        needs.Add((EngineFeatures.Penalties, p.Name));
                        LegacyRefuses(chat, p.Name);
                    }

                    break;
                case "logprobs" when chat:
                    logprobs = Bool(v, p.Name);
                    break;
                case "logprobs" when !chat:
                    // Completions take the number of most likely tokens to return (0-5).
                    if (Number(v, p.Name, 0, 5) is { } n && n > 0)
                    {
                        LegacyRefuses(chat, p.Name);
                    }

                    break;
                case "top_logprobs" when chat:
                    topLogprobs = Number(v, p.Name, 0, 20) is { } tl ? (int)tl : null;
                    break;
                case "seed":
                    if (v.ValueKind != JsonValueKind.Null)
                    {
                        seed = v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out var s) ? s : throw new InvalidRequestBody("'seed' must be an integer.", "seed");
                    }

                    break;
                case "stop":
                    stop = ParseStop(v);
                    break;
                case "stream":
                    stream = Bool(v, p.Name);
                    break;
                case "stream_options":
                    if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("include_usage", out var iu))
                    {
                        includeUsage = Bool(iu, "stream_options.include_usage");
                    }
                    else if (v.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                    {
                        throw new InvalidRequestBody("'stream_options' must be an object.", p.Name);
                    }

                    break;
                case "n" when v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Number && v.GetDouble() == 1):
                case "echo" when !chat && v.ValueKind is JsonValueKind.False or JsonValueKind.Null:
                case "best_of" when !chat && (v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Number && v.GetDouble() == 1)):
                case "suffix" when !chat && v.ValueKind == JsonValueKind.Null:
                    break;
                case "store":
                    if (Bool(v, p.Name))
                    {
                        throw new InvalidRequestBody(
                            "'store: true' cannot be honoured: Lanes never retains prompts or completions. Send 'store: false' or leave it out.", p.Name, "unsupported_parameter");
                    }

                    break;
                case "tools" when chat:
                    toolsElement = v;
                    break;
                case "tool_choice" when chat:
                    toolChoiceElement = v;
                    break;
                case "parallel_tool_calls" when chat:
                    parallelToolCalls = v.ValueKind == JsonValueKind.Null || Bool(v, p.Name);
                    break;
                case "response_format" when chat:
                    format = ToolsParser.ResponseFormat(v);
                    if (format.Kind != OutputFormatKind.Text)
                    {
                        needs.Add((EngineFeatures.StructuredOutputs, p.Name));
                    }

                    break;
                case var name when Hints.Contains(name):
                    Hint(v, name);
                    break;
                default:
                    throw new InvalidRequestBody(
                        $"Unsupported parameter '{p.Name}'{Why(p.Name, chat)}.", p.Name, "unsupported_parameter");
            }
        }

        if (model is null)
        {
            throw new InvalidRequestBody("'model' is required.", "model");
        }

        if (!chat)
        {
            return prompt is null
                ? throw new InvalidRequestBody("'prompt' is required.", "prompt")
                : new GenerationCall(model, null, prompt, maxTokens, temperature, topP, seed, stop, stream, stream && includeUsage) { Needs = needs, Door = Lanes.Billing.Usage.ApiDoor.Completions };
        }

        if (messages is null)
        {
            throw new InvalidRequestBody("'messages' is required.", "messages");
        }

        if (logprobs)
        {
            needs.Add((EngineFeatures.Logprobs, "logprobs"));
        }
        else if (topLogprobs > 0)
        {
            throw new InvalidRequestBody("'top_logprobs' needs 'logprobs: true'.", "top_logprobs");
        }

        var tools = toolsElement is { } t ? ToolsParser.Tools(t) : [];
        var toolChoice = toolChoiceElement is { } tc ? ToolsParser.ToolChoice(tc, tools) : ToolChoice.Auto;
        if (tools.Count > 0)
        {
            needs.Add((EngineFeatures.Tools, "tools"));
        }

        var request = new ChatRequest(messages, tools, toolChoice, parallelToolCalls, format, body.Clone());
        return new GenerationCall(model, request, null, maxTokens, temperature, topP, seed, stop, stream, stream && includeUsage) { Needs = needs };
    }

    /// <summary>The legacy completions endpoint runs plain sampling only; chat completions carry the rest.</summary>
    private static void LegacyRefuses(bool chat, string name)
    {
        if (!chat)
        {
            throw new InvalidRequestBody($"'{name}' is not supported on /v1/completions here; use /v1/chat/completions.", name, "unsupported_parameter");
        }
    }

    private static string Why(string name, bool chat) => name switch
    {
        "n" => ": only n=1 is supported",
        "functions" or "function_call" => ": the legacy function-calling parameters are not supported; send 'tools' and 'tool_choice'",
        "audio" => ": audio output is not served here",
        "prediction" => ": predicted outputs are not supported",
        "web_search_options" => ": web search is not offered here",
        "tools" or "tool_choice" or "response_format" or "parallel_tool_calls" when !chat => ": it belongs to /v1/chat/completions",
        _ => chat
            ? ". See the README for the Chat Completions parameters Lanes accepts"
            : ". Lanes supports model, prompt, max_tokens, temperature, top_p, seed, stop, stream, stream_options and user",
    };

    /// <summary>True when the bias changes something (a non-empty map); validates the map either way.</summary>
    private static bool LogitBias(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Null)
        {
            return false;
        }

        if (v.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestBody("'logit_bias' must be an object mapping token ids to numbers from -100 to 100.", "logit_bias");
        }

        var any = false;
        foreach (var entry in v.EnumerateObject())
        {
            if (!int.TryParse(entry.Name, out var id) || id < 0 || entry.Value.ValueKind != JsonValueKind.Number || entry.Value.GetDouble() is < -100 or > 100)
            {
                throw new InvalidRequestBody("'logit_bias' must map token ids to numbers from -100 to 100.", "logit_bias");
            }

            any = true;
        }

        return any;
    }

    /// <summary>Hints are accepted but still typed: a wrong type is a client bug worth telling.</summary>
    private static void Hint(JsonElement v, string name)
    {
        var ok = name switch
        {
            "metadata" => v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Object && v.EnumerateObject().Count() <= 16
                && v.EnumerateObject().All(e => e.Name.Length <= 64 && e.Value.ValueKind == JsonValueKind.String && e.Value.GetString()!.Length <= 512)),
            "modalities" => v.ValueKind == JsonValueKind.Null || (v.ValueKind == JsonValueKind.Array && v.EnumerateArray().All(m => m.ValueKind == JsonValueKind.String && m.GetString() == "text")),
            _ => v.ValueKind is JsonValueKind.String or JsonValueKind.Null,
        };
        if (!ok)
        {
            throw new InvalidRequestBody(name switch
            {
                "metadata" => "'metadata' must be an object of at most 16 string values (keys up to 64 characters, values up to 512).",
                "modalities" => "'modalities' may only be [\"text\"] here.",
                _ => $"'{name}' must be a string.",
            }, name);
        }
    }

    private static List<string> ParseStop(JsonElement v) => v.ValueKind switch
    {
        JsonValueKind.Null => [],
        JsonValueKind.String => [v.GetString()!],
        JsonValueKind.Array when v.GetArrayLength() <= 4 && v.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String && s.GetString()!.Length > 0) =>
            v.EnumerateArray().Select(s => s.GetString()!).ToList(),
        _ => throw new InvalidRequestBody("'stop' must be a string or an array of up to 4 non-empty strings.", "stop"),
    };

    internal static bool Bool(JsonElement v, string name) => v.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False or JsonValueKind.Null => false,
        _ => throw new InvalidRequestBody($"'{name}' must be a boolean.", name),
    };

    private static double? Number(JsonElement v, string name, double min, double max)
    {
        if (v.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return v.ValueKind == JsonValueKind.Number && v.GetDouble() is var d && d >= min && d <= max
            ? d
            : throw new InvalidRequestBody($"'{name}' must be a number between {min} and {max}.", name);
    }
}
