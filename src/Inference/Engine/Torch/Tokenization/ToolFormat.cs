using System.Text;
using System.Text.Json;

namespace Lanes.Inference.Engine.Torch.Tokenization;

/// <summary>
/// Writes tools, tool calls and tool results into chat turns the way each model family was trained to read them,
/// so the chat template only ever renders plain turns:
/// <list type="bullet">
/// <item>ChatML (Qwen2.5, Hermes): the tool signatures in the system turn inside <c>&lt;tools&gt;</c>; calls as
/// <c>&lt;tool_call&gt;{"name": …, "arguments": …}&lt;/tool_call&gt;</c> blocks; results as a user turn of
/// <c>&lt;tool_response&gt;</c> blocks (consecutive results share one turn).</item>
/// <item>Llama 3.1+ (JSON tool calling): the signatures in the first user turn; a call as
/// <c>{"name": …, "parameters": …}</c>; results as <c>ipython</c> turns.</item>
/// </list>
/// JSON is written with Python's <c>json.dumps</c> separators, as the templates' <c>tojson</c> does.
/// </summary>
public static class ToolFormat
{
    public const string CallOpen = "<tool_call>\n";
    public const string CallClose = "\n</tool_call>";

    /// <summary>Mistral's call marker, a control token in its vocabulary: the calls follow as a JSON array.</summary>
    public const string MistralCalls = "[TOOL_CALLS]";

    private const string QwenDefaultSystem = "You are Qwen, created by Alibaba Cloud. You are a helpful assistant.";

    /// <summary>The turns to render and, for Llama 3, the line the system turn starts with when tools are offered.</summary>
    public static (List<ChatTurn> Turns, string? SystemPreamble) Apply(ChatFormat format, ChatRequest request, string? defaultSystem)
    {
        var tools = request.ToolChoice.Mode == ToolChoiceMode.None ? [] : request.Tools;
        return format switch
        {
            ChatFormat.ChatMl => (ChatMl(request.Messages, tools, defaultSystem), null),
            ChatFormat.Llama3 => Llama3(request.Messages, tools),
            _ => throw new ArgumentOutOfRangeException(nameof(format), format, "Mistral's layout is rendered by ChatTemplate itself."),
        };
    }

    private static List<ChatTurn> ChatMl(IReadOnlyList<ChatTurn> messages, IReadOnlyList<ToolDefinition> tools, string? defaultSystem)
    {
        var turns = new List<ChatTurn>();
        var rest = messages.AsEnumerable();
        if (tools.Count > 0)
        {
            var system = messages[0].Role == "system" ? messages[0].Content : defaultSystem ?? QwenDefaultSystem;
            rest = messages[0].Role == "system" ? messages.Skip(1) : messages;
            var text = new StringBuilder(system)
                .Append("\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n")
                .Append("You are provided with function signatures within <tools></tools> XML tags:\n<tools>");
            foreach (var tool in tools)
            {
                text.Append('\n').Append(Signature(tool));
            }

            text.Append("\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n")
                .Append("<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>");
            turns.Add(new ChatTurn("system", text.ToString()));
        }

        var results = new List<string>();
        foreach (var m in rest)
        {
            if (m.Role == "tool")
            {
                results.Add($"<tool_response>\n{m.Content}\n</tool_response>");
                continue;
            }

            FlushResults(turns, results);
            turns.Add(m.ToolCalls is { Count: > 0 } calls
                ? new ChatTurn("assistant", (m.Content.Length > 0 ? m.Content + "\n" : "") + string.Join("\n", calls.Select(HermesCall)))
                : new ChatTurn(m.Role, m.Content));
        }

        FlushResults(turns, results);
        return turns;
    }

    private static void FlushResults(List<ChatTurn> turns, List<string> results)
    {
        if (results.Count > 0)
        {
            turns.Add(new ChatTurn("user", string.Join("\n", results)));
            results.Clear();
        }
    }

    private static (List<ChatTurn>, string?) Llama3(IReadOnlyList<ChatTurn> messages, IReadOnlyList<ToolDefinition> tools)
    {
        var turns = new List<ChatTurn>();
        var offered = tools.Count == 0;
        foreach (var m in messages)
        {
            if (!offered && m.Role == "user")
            {
                var text = new StringBuilder("Given the following functions, please respond with a JSON for a function call with its proper arguments that best answers the given prompt.\n\n")
                    .Append("Respond in the format {\"name\": function name, \"parameters\": dictionary of argument name and its value}.Do not use variables.\n\n");
                foreach (var tool in tools)
                {
                    text.Append(Signature(tool)).Append("\n\n");
                }

                turns.Add(new ChatTurn("user", text.Append(m.Content).ToString()));
                offered = true;
                continue;
            }

            turns.Add(m.Role switch
            {
                "tool" => new ChatTurn("ipython", m.Content),
                "assistant" when m.ToolCalls is { Count: > 0 } calls => new ChatTurn("assistant", string.Join("\n", calls.Select(c => $"{{\"name\": \"{c.Name}\", \"parameters\": {PythonJson(c.Arguments)}}}"))),
                _ => m,
            });
        }

        return (turns, tools.Count > 0 ? "Environment: ipython\n" : null);
    }

    /// <summary>A tool as the templates render it: <c>{"type": "function", "function": {...}}</c>.</summary>
    public static string Signature(ToolDefinition tool)
    {
        var function = new StringBuilder("{\"name\": ").Append(JsonSerializer.Serialize(tool.Name));
        if (tool.Description is { } d)
        {
            function.Append(", \"description\": ").Append(JsonSerializer.Serialize(d));
        }

        function.Append(", \"parameters\": ").Append(PythonJson(tool.Parameters)).Append('}');
        return $"{{\"type\": \"function\", \"function\": {function}}}";
    }

    private static string HermesCall(ToolCall call) =>
        $"{CallOpen}{{\"name\": {JsonSerializer.Serialize(call.Name)}, \"arguments\": {PythonJson(call.Arguments)}}}{CallClose}";

    /// <summary>JSON text re-written with ", " and ": " separators; text that is not JSON is kept as a JSON string.</summary>
    public static string PythonJson(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            return PythonJson(doc.RootElement);
        }
        catch (JsonException)
        {
            return JsonSerializer.Serialize(json);
        }
    }

    public static string PythonJson(JsonElement e)
    {
        var text = new StringBuilder();
        Write(text, e);
        return text.ToString();
    }

    private static void Write(StringBuilder text, JsonElement e)
    {
        switch (e.ValueKind)
        {
            case JsonValueKind.Object:
                text.Append('{');
                var first = true;
                foreach (var p in e.EnumerateObject())
                {
                    text.Append(first ? "" : ", ").Append(JsonSerializer.Serialize(p.Name)).Append(": ");
                    Write(text, p.Value);
                    first = false;
                }

                text.Append('}');
                break;
            case JsonValueKind.Array:
                text.Append('[');
                var i = 0;
                foreach (var item in e.EnumerateArray())
                {
                    text.Append(i++ == 0 ? "" : ", ");
                    Write(text, item);
                }

                text.Append(']');
                break;
            default:
                text.Append(e.GetRawText());
                break;
        }
    }
}
