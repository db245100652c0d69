using System.Text.Json;

namespace Lanes.Inference.Engine.Scripted;

/// <summary>
/// What the scripted engine answers a chat with, so tests can drive a whole tool loop through real clients:
/// <list type="bullet">
/// <item>the last message is a user message with lines <c>call NAME {json arguments}</c> naming offered tools: it calls
/// them (only the first when <c>parallel_tool_calls</c> is false);</item>
/// <item><c>tool_choice</c> is <c>required</c> or names a tool and no line says what to call: it calls the named (or
/// first) tool with <c>{}</c>;</item>
/// <item>the last message is a tool result: it answers <c>tool said: CONTENT</c> (every result of that turn, joined
/// by "; ");</item>
/// <item>otherwise: the fixed script of tokens.</item>
/// </list>
/// </summary>
public sealed record ScriptedToolPlan(IReadOnlyList<ToolCall> Calls, string? Answer)
{
    public static readonly ScriptedToolPlan Text = new([], null);

    /// <summary>Argument text is sent in pieces of this many characters, one token each, as models stream them.</summary>
    private const int ArgumentPiece = 8;

    public static ScriptedToolPlan For(ChatRequest request)
    {
        var messages = request.Messages;
        var last = messages[^1];
        if (last.Role == "tool")
        {
            var results = messages.Reverse().TakeWhile(m => m.Role == "tool").Reverse().Select(m => m.Content);
            return new ScriptedToolPlan([], "tool said: " + string.Join("; ", results));
        }

        if (request.Tools.Count == 0 || request.ToolChoice.Mode == ToolChoiceMode.None || last.Role != "user")
        {
            return Text;
        }

        var offered = request.Tools.Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        var calls = new List<ToolCall>();
        foreach (var line in last.Content.Split('\n'))
        {
            var parts = line.Trim().Split(' ', 3, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length >= 2 && parts[0] == "call" && offered.Contains(parts[1])
                && (request.ToolChoice.Mode != ToolChoiceMode.Named || parts[1] == request.ToolChoice.Name))
            {
                var arguments = parts.Length == 3 && IsJsonObject(parts[2]) ? parts[2] : "{}";
                calls.Add(new ToolCall($"call_{calls.Count}_{Guid.NewGuid():N}"[..24], parts[1], arguments));
            }
        }

        if (calls.Count == 0 && request.RequiresToolCall)
        {
            var name = request.ToolChoice.Name ?? request.Tools[0].Name;
            calls.Add(new ToolCall($"call_0_{Guid.NewGuid():N}"[..24], name, "{}"));
        }

        return new ScriptedToolPlan(request.ParallelToolCalls ? calls : calls.Take(1).ToList(), null);
    }

    /// <summary>The reply as engine chunks of one token each (finish reasons are set by the engine).</summary>
    public IReadOnlyList<GeneratedChunk> Pieces(IReadOnlyList<string> script)
    {
        if (Answer is not null)
        {
            return Answer.Split(' ').Select((w, i) => new GeneratedChunk(i == 0 ? w : " " + w, 1, null)).ToList();
        }

        if (Calls.Count == 0)
        {
            return script.Select(t => new GeneratedChunk(t, 1, null)).ToList();
        }

        var pieces = new List<GeneratedChunk>();
        for (var i = 0; i < Calls.Count; i++)
        {
            var call = Calls[i];
            pieces.Add(new GeneratedChunk("", 1, null) { ToolCall = new ToolCallDelta(i, call.Id, call.Name, "") });
            for (var at = 0; at < call.Arguments.Length; at += ArgumentPiece)
            {
                var piece = call.Arguments.Substring(at, Math.Min(ArgumentPiece, call.Arguments.Length - at));
                pieces.Add(new GeneratedChunk("", 1, null) { ToolCall = new ToolCallDelta(i, null, null, piece) });
            }
        }

        return pieces;
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
