using System.Text.Json;
using Lanes.Inference.Engine;

namespace Lanes.Inference.Api;

/// <summary>Reads <c>tools</c>, <c>tool_choice</c> and <c>response_format</c> as OpenAI documents them.</summary>
internal static class ToolsParser
{
    /// <summary>OpenAI's own limit on tools per request.</summary>
    public const int MaxTools = 128;

    private static readonly JsonElement EmptyObjectSchema = JsonDocument.Parse("""{"type":"object","properties":{}}""").RootElement.Clone();

    public static List<ToolDefinition> Tools(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() > MaxTools)
        {
            throw new InvalidRequestBody($"'tools' must be an array of at most {MaxTools} tools.", "tools");
        }

        var tools = new List<ToolDefinition>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var tool in v.EnumerateArray())
        {
            var at = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object || !tool.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw new InvalidRequestBody($"{at} must be an object with a string 'type'.", $"{at}.type");
            }

            if (type.GetString() != "function")
            {
                throw new InvalidRequestBody($"{at}.type '{type.GetString()}' is not supported: only 'function' tools are.", $"{at}.type", "unsupported_parameter");
            }

            if (!tool.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object)
            {
                throw new InvalidRequestBody($"{at}.function must be an object.", $"{at}.function");
            }

            var name = f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
            if (!IsName(name))
            {
                throw new InvalidRequestBody($"{at}.function.name must be 1-64 letters, digits, '_' or '-'.", $"{at}.function.name");
            }

            if (!names.Add(name))
            {
                throw new InvalidRequestBody($"{at}.function.name '{name}' is given twice.", $"{at}.function.name");
            }

            string? description = null;
            if (f.TryGetProperty("description", out var d) && d.ValueKind != JsonValueKind.Null)
            {
                description = d.ValueKind == JsonValueKind.String ? d.GetString() : throw new InvalidRequestBody($"{at}.function.description must be a string.", $"{at}.function.description");
            }

            var parameters = EmptyObjectSchema;
            if (f.TryGetProperty("parameters", out var p) && p.ValueKind != JsonValueKind.Null)
            {
                SchemaCheck.Validate(p, $"{at}.function.parameters");
                if (p.ValueKind != JsonValueKind.Object || (p.TryGetProperty("type", out var pt) && pt.ValueKind == JsonValueKind.String && pt.GetString() != "object"))
                {
                    throw new InvalidRequestBody($"{at}.function.parameters must be a JSON Schema of type 'object'.", $"{at}.function.parameters");
                }

                parameters = p.Clone();
            }

            var strict = f.TryGetProperty("strict", out var s) && RequestParser.Bool(s, $"{at}.function.strict");
            tools.Add(new ToolDefinition(name, description, parameters, strict));
        }

        return tools;
    }

    public static ToolChoice ToolChoice(JsonElement v, IReadOnlyList<ToolDefinition> tools)
    {
        var choice = v.ValueKind switch
        {
            JsonValueKind.Null => Engine.ToolChoice.Auto,
            JsonValueKind.String => v.GetString() switch
            {
                "auto" => Engine.ToolChoice.Auto,
                "none" => Engine.ToolChoice.None,
                "required" => new ToolChoice(ToolChoiceMode.Required),
                var other => throw new InvalidRequestBody($"'tool_choice' '{other}' is not one of none, auto, required or a named function.", "tool_choice"),
            },
            JsonValueKind.Object => Named(v),
            _ => throw new InvalidRequestBody("'tool_choice' must be 'none', 'auto', 'required' or {\"type\":\"function\",\"function\":{\"name\":...}}.", "tool_choice"),
        };

        return Checked(choice, tools);
    }

    /// <summary>A choice that asks for a call needs tools, and a named one a tool of that name: every door checks this
    /// the same way.</summary>
    internal static ToolChoice Checked(ToolChoice choice, IReadOnlyList<ToolDefinition> tools, string param = "tool_choice")
    {
        if (choice.Mode is ToolChoiceMode.Required or ToolChoiceMode.Named && tools.Count == 0)
        {
            throw new InvalidRequestBody("'tool_choice' asks for a tool call but 'tools' lists none.", param);
        }

        if (choice.Mode == ToolChoiceMode.Named && !tools.Any(t => t.Name == choice.Name))
        {
            throw new InvalidRequestBody($"'tool_choice' names the function '{choice.Name}', which is not in 'tools'.", param);
        }

        return choice;
    }

    private static ToolChoice Named(JsonElement v)
    {
        if (v.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "function"
            && v.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object
            && f.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String)
        {
            return new ToolChoice(ToolChoiceMode.Named, n.GetString());
        }

        throw new InvalidRequestBody("'tool_choice' must be {\"type\":\"function\",\"function\":{\"name\":...}} to name a function.", "tool_choice");
    }

    public static OutputFormat ResponseFormat(JsonElement v)
    {
        if (v.ValueKind == JsonValueKind.Null)
        {
            return OutputFormat.Text;
        }

        if (v.ValueKind != JsonValueKind.Object || !v.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
        {
            throw new InvalidRequestBody("'response_format' must be an object with a string 'type'.", "response_format");
        }

        switch (type.GetString())
        {
            case "text":
                return OutputFormat.Text;
            case "json_object":
                return new OutputFormat(OutputFormatKind.JsonObject);
            case "json_schema":
                if (!v.TryGetProperty("json_schema", out var js) || js.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidRequestBody("'response_format.json_schema' must be an object with 'name' and 'schema'.", "response_format.json_schema");
                }

                var name = js.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String ? n.GetString()! : "";
                if (!IsName(name))
                {
                    throw new InvalidRequestBody("'response_format.json_schema.name' must be 1-64 letters, digits, '_' or '-'.", "response_format.json_schema.name");
                }

                if (!js.TryGetProperty("schema", out var schema) || schema.ValueKind != JsonValueKind.Object)
                {
                    throw new InvalidRequestBody("'response_format.json_schema.schema' must be a JSON Schema object.", "response_format.json_schema.schema");
                }

                SchemaCheck.Validate(schema, "response_format.json_schema.schema");
                var strict = js.TryGetProperty("strict", out var s) && RequestParser.Bool(s, "response_format.json_schema.strict");
                return new OutputFormat(OutputFormatKind.JsonSchema, schema.Clone(), name, strict);
            case var other:
                throw new InvalidRequestBody($"'response_format.type' '{other}' is not one of text, json_object or json_schema.", "response_format.type");
        }
    }

    internal static bool IsName(string name) =>
        name.Length is >= 1 and <= 64 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');
}
