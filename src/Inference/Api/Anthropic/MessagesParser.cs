using System.Text;
using System.Text.Json;
using Lanes.Inference.Engine;

namespace Lanes.Inference.Api.Anthropic;

/// <summary>
/// Reads an Anthropic Messages request into the same <see cref="GenerationCall"/> Chat Completions produces, so the
/// Messages door admits, refuses and meters exactly as the OpenAI door does: system text, text / image / tool_use /
/// tool_result blocks, tools with <c>input_schema</c>, <c>tool_choice</c> (auto, any, tool, none), stop sequences and
/// sampling. Every field is type-checked; anything unknown is refused by name.
/// </summary>
public static class MessagesParser
{
    public static GenerationCall Parse(JsonElement body) => Parse(body, requireMaxTokens: true);

    /// <summary>The body of <c>/v1/messages/count_tokens</c>: the same request without <c>max_tokens</c>.</summary>
    public static GenerationCall ParseForCount(JsonElement body) => Parse(body, requireMaxTokens: false);

    private static GenerationCall Parse(JsonElement body, bool requireMaxTokens)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestBody("The request body must be a JSON object.");
        }

        string? model = null;
        int? maxTokens = null;
        double? temperature = null, topP = null;
        var stop = new List<string>();
        var stream = false;
        var system = new List<ChatTurn>();
        List<ChatTurn>? messages = null;
        var needs = new List<(EngineFeatures, string)>();
        var tools = new List<ToolDefinition>();
        JsonElement? toolChoice = null;

        foreach (var p in body.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "model":
                    model = v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } m ? m : throw new InvalidRequestBody("model: must be a non-empty string.", "model");
                    break;
                case "max_tokens":
                    maxTokens = v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var mt) && mt >= 1 ? mt : throw new InvalidRequestBody("max_tokens: must be a positive integer.", "max_tokens");
                    break;
                case "temperature":
                    temperature = Number(v, p.Name, 0, 1);
                    break;
                case "top_p":
                    topP = Number(v, p.Name, 0, 1);
                    break;
                case "top_k":
                    if (v.ValueKind != JsonValueKind.Null && !(v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var k) && k >= 0))
                    {
                        throw new InvalidRequestBody("top_k: must be a non-negative integer.", "top_k");
                    }

                    break;
                case "stop_sequences":
                    if (v.ValueKind != JsonValueKind.Array || !v.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String && s.GetString()!.Length > 0))
                    {
                        throw new InvalidRequestBody("stop_sequences: must be an array of non-empty strings.", "stop_sequences");
                    }

                    stop = v.EnumerateArray().Select(s => s.GetString()!).ToList();
                    break;
                case "stream":
                    stream = RequestParser.Bool(v, p.Name);
                    break;
                case "system":
                    system = v.ValueKind switch
                    {
                        JsonValueKind.String => [new ChatTurn("system", v.GetString()!)],
                        JsonValueKind.Array => [new ChatTurn("system", TextBlocks(v, "system"))],
                        JsonValueKind.Null => [],
                        _ => throw new InvalidRequestBody("system: must be a string or an array of text blocks.", "system"),
                    };
                    break;
                case "messages":
                    messages = Messages(v, needs);
                    break;
                case "tools":
                    tools = Tools(v);
                    break;
                case "tool_choice":
                    toolChoice = v;
                    break;
                case "metadata":
                    if (v.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                    {
                        throw new InvalidRequestBody("metadata: must be an object.", "metadata");
                    }

                    break;
                case "service_tier":
                    if (v.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
                    {
                        throw new InvalidRequestBody("service_tier: must be a string.", "service_tier");
                    }

                    break;
                default:
                    throw new InvalidRequestBody($"{p.Name}: this parameter is not supported by Lanes' Messages API.", p.Name, "unsupported_parameter");
            }
        }

        if (model is null)
        {
            throw new InvalidRequestBody("model: Field required.", "model");
        }

        if (messages is null)
        {
            throw new InvalidRequestBody("messages: Field required.", "messages");
        }

        if (requireMaxTokens && maxTokens is null)
        {
            throw new InvalidRequestBody("max_tokens: Field required.", "max_tokens");
        }

        var (choice, parallel) = toolChoice is { } tc ? ToolChoiceOf(tc, tools) : (ToolChoice.Auto, true);
        if (tools.Count > 0)
        {
            needs.Add((EngineFeatures.Tools, "tools"));
        }

        var request = new ChatRequest([.. system, .. messages], tools, choice, parallel, OutputFormat.Text);
        return new GenerationCall(model, request, null, maxTokens, temperature, topP, null, stop, stream, stream) { Needs = needs, Door = Lanes.Billing.Usage.ApiDoor.Messages };
    }

    private static List<ChatTurn> Messages(JsonElement v, List<(EngineFeatures, string)> needs)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
        {
            throw new InvalidRequestBody("messages: must be a non-empty array.", "messages");
        }

        var turns = new List<ChatTurn>();
        var calls = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var m in v.EnumerateArray())
        {
            var at = $"messages.{i++}";
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String
                || role.GetString() is not ("user" or "assistant"))
            {
                throw new InvalidRequestBody($"{at}.role: must be \"user\" or \"assistant\".", $"{at}.role");
            }

            if (!m.TryGetProperty("content", out var content))
            {
                throw new InvalidRequestBody($"{at}.content: Field required.", $"{at}.content");
            }

            var assistant = role.GetString() == "assistant";
            if (content.ValueKind == JsonValueKind.String)
            {
                turns.Add(new ChatTurn(role.GetString()!, content.GetString()!));
                continue;
            }

            if (content.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidRequestBody($"{at}.content: must be a string or an array of content blocks.", $"{at}.content");
            }

            // As Anthropic has it: only a final assistant message (a prefill) may be empty. This also keeps every
            // conversation non-empty, which engines rely on.
            if (content.GetArrayLength() == 0 && !(assistant && i == v.GetArrayLength()))
            {
                throw new InvalidRequestBody($"{at}.content: must hold at least one content block; only a final assistant message may be empty.", $"{at}.content");
            }

            var text = new StringBuilder();
            var toolCalls = new List<ToolCall>();
            var images = 0;
            var j = 0;
            foreach (var block in content.EnumerateArray())
            {
                var bat = $"{at}.content.{j++}";
                if (block.ValueKind != JsonValueKind.Object || !block.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
                {
                    throw new InvalidRequestBody($"{bat}.type: Field required.", $"{bat}.type");
                }

                switch (type.GetString())
                {
                    case "text":
                        text.Append(String(block, "text", bat));
                        break;
                    case "image" when !assistant:
                        needs.Add((EngineFeatures.Vision, bat));
                        images++;
                        break;
                    case "tool_use" when assistant:
                        var id = String(block, "id", bat);
                        var name = String(block, "name", bat);
                        if (!block.TryGetProperty("input", out var input) || input.ValueKind != JsonValueKind.Object)
                        {
                            throw new InvalidRequestBody($"{bat}.input: must be an object.", $"{bat}.input");
                        }

                        calls.Add(id);
                        toolCalls.Add(new ToolCall(id, name, input.GetRawText()));
                        break;
                    case "tool_result" when !assistant:
                        var useId = String(block, "tool_use_id", bat);
                        if (!calls.Contains(useId))
                        {
                            throw new InvalidRequestBody($"{bat}.tool_use_id: '{useId}' does not answer a tool_use block of an earlier assistant message.", $"{bat}.tool_use_id");
                        }

                        var result = block.TryGetProperty("content", out var rc) ? rc.ValueKind switch
                        {
                            JsonValueKind.String => rc.GetString()!,
                            JsonValueKind.Array => TextBlocks(rc, $"{bat}.content"),
                            JsonValueKind.Null => "",
                            _ => throw new InvalidRequestBody($"{bat}.content: must be a string or an array of text blocks.", $"{bat}.content"),
                        } : "";
                        var failed = block.TryGetProperty("is_error", out var e) && RequestParser.Bool(e, $"{bat}.is_error");
                        turns.Add(new ChatTurn("tool", failed ? "Error: " + result : result, ToolCallId: useId));
                        needs.Add((EngineFeatures.Tools, bat));
                        break;
                    case var other:
                        throw new InvalidRequestBody($"{bat}.type: '{other}' blocks are not supported in {role.GetString()} messages here.", $"{bat}.type", "unsupported_parameter");
                }
            }

            if (assistant || text.Length > 0 || images > 0)
            {
                turns.Add(new ChatTurn(role.GetString()!, text.ToString(), toolCalls.Count > 0 ? toolCalls : null) { Images = images });
            }
        }

        return turns;
    }

    private static List<ToolDefinition> Tools(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > ToolsParser.MaxTools)
        {
            throw new InvalidRequestBody($"tools: must be an array of at most {ToolsParser.MaxTools} tools.", "tools");
        }

        var tools = new List<ToolDefinition>();
        var i = 0;
        foreach (var t in v.EnumerateArray())
        {
            var at = $"tools.{i++}";
            if (t.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestBody($"{at}: must be an object.", at);
            }

            if (t.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() is not ("custom"))
            {
                throw new InvalidRequestBody($"{at}.type: server tools ('{type.GetString()}') are not offered here; define client tools with name and input_schema.", $"{at}.type", "unsupported_parameter");
            }

            var name = String(t, "name", at);
            if (!ToolsParser.IsName(name))
            {
                throw new InvalidRequestBody($"{at}.name: must be 1-64 letters, digits, '_' or '-'.", $"{at}.name");
            }

            if (!t.TryGetProperty("input_schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestBody($"{at}.input_schema: Field required (a JSON Schema object).", $"{at}.input_schema");
            }

            SchemaCheck.Validate(schema, $"{at}.input_schema");
            string? description = t.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            tools.Add(new ToolDefinition(name, description, schema.Clone(), false));
        }

        return tools;
    }

    private static (ToolChoice, bool Parallel) ToolChoiceOf(JsonElement v, IReadOnlyList<ToolDefinition> tools)
    {
        if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw new InvalidRequestBody("tool_choice: must be an object with a 'type' (auto, any, tool or none).", "tool_choice");
        }

        var parallel = !(v.TryGetProperty("disable_parallel_tool_use", out var dp) && RequestParser.Bool(dp, "tool_choice.disable_parallel_tool_use"));
        ToolChoice choice = type.GetString() switch
        {
            "auto" => ToolChoice.Auto,
            "none" => ToolChoice.None,
            "any" => new ToolChoice(ToolChoiceMode.Required),
            "tool" => new ToolChoice(ToolChoiceMode.Named, String(v, "name", "tool_choice")),
            var other => throw new InvalidRequestBody($"tool_choice.type: '{other}' is not one of auto, any, tool or none.", "tool_choice.type"),
        };
        return (ToolsParser.Checked(choice, tools, choice.Mode == ToolChoiceMode.Named ? "tool_choice.name" : "tool_choice"), parallel);
    }

    private static string TextBlocks(JsonElement blocks, string at)
    {
        var text = new StringBuilder();
        var i = 0;
        foreach (var b in blocks.EnumerateArray())
        {
            var bat = $"{at}.{i++}";
            if (b.ValueKind != JsonValueKind.Object || !b.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "text")
            {
                throw new InvalidRequestBody($"{bat}: only text blocks are supported here.", $"{bat}.type");
            }

            text.Append(String(b, "text", bat));
        }

        return text.ToString();
    }

    private static string String(JsonElement o, string field, string at) =>
        o.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } s
            ? s
            : throw new InvalidRequestBody($"{at}.{field}: must be a non-empty string.", $"{at}.{field}");

    private static double? Number(JsonElement v, string name, double min, double max) =>
        v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.GetDouble() is var d && d >= min && d <= max ? d
        : throw new InvalidRequestBody($"{name}: must be a number between {min} and {max}.", name);
}
