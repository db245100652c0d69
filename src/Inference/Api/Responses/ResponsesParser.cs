using System.Text;
using System.Text.Json;
using Lanes.Inference.Engine;

namespace Lanes.Inference.Api.Responses;

/// <summary>
/// Reads a Responses API request (the stateless part) into the same <see cref="GenerationCall"/> Chat Completions
/// produces: <c>input</c> as a string or items (messages with text parts, <c>function_call</c>,
/// <c>function_call_output</c>), <c>instructions</c>, function <c>tools</c>, <c>tool_choice</c>, <c>text.format</c>.
/// Nothing is stored, so <c>store: true</c> and <c>previous_response_id</c> are refused saying why.
/// </summary>
public static class ResponsesParser
{
    public static GenerationCall Parse(JsonElement body)
    {
        if (body.ValueKind != JsonValueKind.Object)
        {
            throw new InvalidRequestBody("The request body must be a JSON object.");
        }

        string? model = null;
        int? maxTokens = null;
        double? temperature = null, topP = null;
        var stream = false;
        var turns = new List<ChatTurn>();
        string? instructions = null;
        var needs = new List<(EngineFeatures, string)>();
        var tools = new List<ToolDefinition>();
        JsonElement? toolChoice = null;
        var parallel = true;
        var format = OutputFormat.Text;
        var hasInput = false;

        foreach (var p in body.EnumerateObject())
        {
            var v = p.Value;
            switch (p.Name)
            {
                case "model":
                    model = v.ValueKind == JsonValueKind.String && v.GetString() is { Length: > 0 } m ? m : throw new InvalidRequestBody("'model' must be a non-empty string.", "model");
                    break;
                case "input":
                    turns = Input(v, needs);
                    hasInput = true;
                    break;
                case "instructions":
                    instructions = v.ValueKind switch
                    {
                        JsonValueKind.String => v.GetString(),
                        JsonValueKind.Null => null,
                        _ => throw new InvalidRequestBody("'instructions' must be a string.", "instructions"),
                    };
                    break;
                case "max_output_tokens":
                    if (v.ValueKind != JsonValueKind.Null)
                    {
                        maxTokens = v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out var mt) && mt >= 1 ? mt : throw new InvalidRequestBody("'max_output_tokens' must be a positive integer.", "max_output_tokens");
                    }

                    break;
                case "temperature":
                    temperature = Number(v, p.Name, 0, 2);
                    break;
                case "top_p":
                    topP = Number(v, p.Name, 0, 1);
                    break;
                case "stream":
                    stream = RequestParser.Bool(v, p.Name);
                    break;
                case "tools":
                    tools = Tools(v);
                    break;
                case "tool_choice":
                    toolChoice = v;
                    break;
                case "parallel_tool_calls":
                    parallel = v.ValueKind == JsonValueKind.Null || RequestParser.Bool(v, p.Name);
                    break;
                case "text":
                    if (v.ValueKind == JsonValueKind.Object && v.TryGetProperty("format", out var f))
                    {
                        format = Format(f);
                        if (format.Kind != OutputFormatKind.Text)
                        {
                            needs.Add((EngineFeatures.StructuredOutputs, "text.format"));
                        }
                    }
                    else if (v.ValueKind is not (JsonValueKind.Object or JsonValueKind.Null))
                    {
                        throw new InvalidRequestBody("'text' must be an object.", "text");
                    }

                    break;
                case "store":
                    if (RequestParser.Bool(v, p.Name))
                    {
                        throw new InvalidRequestBody("'store: true' cannot be honoured: Lanes never retains prompts or responses. Send 'store: false' and the whole conversation in 'input'.", "store", "unsupported_parameter");
                    }

                    break;
                case "previous_response_id":
                    if (v.ValueKind != JsonValueKind.Null)
                    {
                        throw new InvalidRequestBody("'previous_response_id' cannot be honoured: Lanes stores no responses. Send the conversation so far in 'input'.", "previous_response_id", "unsupported_parameter");
                    }

                    break;
                case "metadata" or "user" or "service_tier" or "truncation" or "prompt_cache_key" or "safety_identifier":
                    if (v.ValueKind is not (JsonValueKind.Object or JsonValueKind.String or JsonValueKind.Null))
                    {
                        throw new InvalidRequestBody($"'{p.Name}' has the wrong type.", p.Name);
                    }

                    break;
                case "reasoning" or "include":
                    break;
                default:
                    throw new InvalidRequestBody($"Unsupported parameter '{p.Name}'. See the README for the Responses parameters Lanes accepts.", p.Name, "unsupported_parameter");
            }
        }

        if (model is null)
        {
            throw new InvalidRequestBody("'model' is required.", "model");
        }

        if (!hasInput)
        {
            throw new InvalidRequestBody("'input' is required.", "input");
        }

        if (instructions is { Length: > 0 })
        {
            turns.Insert(0, new ChatTurn("system", instructions));
        }

        var choice = toolChoice is { } tc ? ToolChoiceOf(tc, tools) : ToolChoice.Auto;
        if (tools.Count > 0)
        {
            needs.Add((EngineFeatures.Tools, "tools"));
        }

        var request = new ChatRequest(turns, tools, choice, parallel, format);
        return new GenerationCall(model, request, null, maxTokens, temperature, topP, null, [], stream, stream) { Needs = needs, Door = Lanes.Billing.Usage.ApiDoor.Responses };
    }

    private static List<ChatTurn> Input(JsonElement v, List<(EngineFeatures, string)> needs)
    {
        if (v.ValueKind == JsonValueKind.String)
        {
            return [new ChatTurn("user", v.GetString()!)];
        }

        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
        {
            throw new InvalidRequestBody("'input' must be a string or a non-empty array of input items.", "input");
        }

        var turns = new List<ChatTurn>();
        var calls = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var item in v.EnumerateArray())
        {
            var at = $"input[{i++}]";
            if (item.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestBody($"{at} must be an object.", at);
            }

            var type = item.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : "message";
            switch (type)
            {
                case "message":
                    var role = Str(item, "role", at);
                    if (role is not ("user" or "assistant" or "system" or "developer"))
                    {
                        throw new InvalidRequestBody($"{at}.role '{role}' is not one of user, assistant, system or developer.", $"{at}.role");
                    }

                    turns.Add(new ChatTurn(role == "developer" ? "system" : role, Content(item, at, needs)));
                    break;
                case "function_call":
                    var callId = Str(item, "call_id", at);
                    var call = new ToolCall(callId, Str(item, "name", at), item.TryGetProperty("arguments", out var a) && a.ValueKind == JsonValueKind.String ? a.GetString()! : throw new InvalidRequestBody($"{at}.arguments must be a string of JSON.", $"{at}.arguments"));
                    calls.Add(callId);
                    // Consecutive calls belong to one assistant turn, as Chat Completions has them.
                    if (turns.Count > 0 && turns[^1] is { Role: "assistant", ToolCalls: { } earlier })
                    {
                        turns[^1] = turns[^1] with { ToolCalls = [.. earlier, call] };
                    }
                    else
                    {
                        turns.Add(new ChatTurn("assistant", "", [call]));
                    }

                    break;
                case "function_call_output":
                    var outputId = Str(item, "call_id", at);
                    if (!calls.Contains(outputId))
                    {
                        throw new InvalidRequestBody($"{at}.call_id '{outputId}' does not answer a function_call earlier in 'input'.", $"{at}.call_id");
                    }

                    var output = item.TryGetProperty("output", out var o) && o.ValueKind == JsonValueKind.String ? o.GetString()! : throw new InvalidRequestBody($"{at}.output must be a string.", $"{at}.output");
                    turns.Add(new ChatTurn("tool", output, ToolCallId: outputId));
                    needs.Add((EngineFeatures.Tools, at));
                    break;
                default:
                    throw new InvalidRequestBody($"{at}.type '{type}' is not supported here (message, function_call and function_call_output are).", $"{at}.type", "unsupported_parameter");
            }
        }

        return turns;
    }

    private static string Content(JsonElement item, string at, List<(EngineFeatures, string)> needs)
    {
        if (!item.TryGetProperty("content", out var c))
        {
            throw new InvalidRequestBody($"{at}.content is required.", $"{at}.content");
        }

        if (c.ValueKind == JsonValueKind.String)
        {
            return c.GetString()!;
        }

        if (c.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestBody($"{at}.content must be a string or an array of content parts.", $"{at}.content");
        }

        var text = new StringBuilder();
        var j = 0;
        foreach (var part in c.EnumerateArray())
        {
            var pat = $"{at}.content[{j++}]";
            var type = part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            switch (type)
            {
                case "input_text" or "output_text" or "text":
                    text.Append(Str(part, "text", pat, allowEmpty: true));
                    break;
                case "input_image":
                    needs.Add((EngineFeatures.Vision, pat));
                    break;
                default:
                    throw new InvalidRequestBody($"{pat}: content parts of type '{type}' are not supported here.", $"{pat}.type", "unsupported_parameter");
            }
        }

        return text.ToString();
    }

    private static List<ToolDefinition> Tools(JsonElement v)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > ToolsParser.MaxTools)
        {
            throw new InvalidRequestBody($"'tools' must be an array of at most {ToolsParser.MaxTools} tools.", "tools");
        }

        var tools = new List<ToolDefinition>();
        var i = 0;
        foreach (var tool in v.EnumerateArray())
        {
            var at = $"tools[{i++}]";
            var type = tool.ValueKind == JsonValueKind.Object && tool.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
            if (type != "function")
            {
                throw new InvalidRequestBody($"{at}.type '{type}' is not supported: only function tools are (built-in tools such as web search run nowhere here).", $"{at}.type", "unsupported_parameter");
            }

            var name = Str(tool, "name", at);
            if (!ToolsParser.IsName(name))
            {
                throw new InvalidRequestBody($"{at}.name must be 1-64 letters, digits, '_' or '-'.", $"{at}.name");
            }

            var parameters = tool.TryGetProperty("parameters", out var ps) && ps.ValueKind == JsonValueKind.Object ? ps : JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement;
            SchemaCheck.Validate(parameters, $"{at}.parameters");
            var description = tool.TryGetProperty("description", out var d) && d.ValueKind == JsonValueKind.String ? d.GetString() : null;
            var strict = tool.TryGetProperty("strict", out var s) && s.ValueKind == JsonValueKind.True;
            tools.Add(new ToolDefinition(name, description, parameters.Clone(), strict));
        }

        return tools;
    }

    private static ToolChoice ToolChoiceOf(JsonElement v, IReadOnlyList<ToolDefinition> tools)
    {
        var choice = v.ValueKind switch
        {
            JsonValueKind.String => v.GetString() switch
            {
                "auto" => ToolChoice.Auto,
                "none" => ToolChoice.None,
                "required" => new ToolChoice(ToolChoiceMode.Required),
                var other => throw new InvalidRequestBody($"'tool_choice' '{other}' is not one of none, auto, required or a named function.", "tool_choice"),
            },
            JsonValueKind.Object when v.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String && t.GetString() == "function" => new ToolChoice(ToolChoiceMode.Named, Str(v, "name", "tool_choice")),
            _ => throw new InvalidRequestBody("'tool_choice' must be none, auto, required or {\"type\":\"function\",\"name\":...}.", "tool_choice"),
        };
        return ToolsParser.Checked(choice, tools);
    }

    private static OutputFormat Format(JsonElement f)
    {
        var type = f.ValueKind == JsonValueKind.Object && f.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        switch (type)
        {
            case "text":
                return OutputFormat.Text;
            case "json_object":
                return new OutputFormat(OutputFormatKind.JsonObject);
            case "json_schema":
                if (!f.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidRequestBody("'text.format.schema' must be a JSON Schema object.", "text.format.schema");
                }

                SchemaCheck.Validate(schema, "text.format.schema");
                return new OutputFormat(OutputFormatKind.JsonSchema, schema.Clone(), Str(f, "name", "text.format"), f.TryGetProperty("strict", out var s) && s.ValueKind == JsonValueKind.True);
            default:
                throw new InvalidRequestBody($"'text.format.type' '{type}' is not one of text, json_object or json_schema.", "text.format.type");
        }
    }

    private static string Str(JsonElement o, string field, string at, bool allowEmpty = false) =>
        o.TryGetProperty(field, out var v) && v.ValueKind == JsonValueKind.String && (allowEmpty || v.GetString()!.Length > 0)
            ? v.GetString()!
            : throw new InvalidRequestBody($"{at}.{field} must be a{(allowEmpty ? "" : " non-empty")} string.", $"{at}.{field}");

    private static double? Number(JsonElement v, string name, double min, double max) =>
        v.ValueKind == JsonValueKind.Null ? null
        : v.ValueKind == JsonValueKind.Number && v.GetDouble() is var d && d >= min && d <= max ? d
        : throw new InvalidRequestBody($"'{name}' must be a number between {min} and {max}.", name);
}
