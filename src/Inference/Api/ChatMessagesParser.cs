using System.Text;
using System.Text.Json;
using Lanes.Inference.Engine;

namespace Lanes.Inference.Api;

/// <summary>
/// Reads <c>messages</c>: system, developer, user, assistant (with <c>tool_calls</c>) and tool turns, content as a
/// string or as parts. A tool turn must answer a call an earlier assistant turn made, so a broken history is a 400
/// naming the message rather than a confused model.
/// </summary>
internal static class ChatMessagesParser
{
    public static List<ChatTurn> Parse(JsonElement v, List<(EngineFeatures, string)> needs)
    {
        if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
        {
            throw new InvalidRequestBody("'messages' must be a non-empty array.", "messages");
        }

        var turns = new List<ChatTurn>();
        var calls = new HashSet<string>(StringComparer.Ordinal);
        var i = 0;
        foreach (var m in v.EnumerateArray())
        {
            var at = $"messages[{i}]";
            if (m.ValueKind != JsonValueKind.Object || !m.TryGetProperty("role", out var role) || role.ValueKind != JsonValueKind.String)
            {
                throw new InvalidRequestBody($"{at} must be an object with a string 'role'.", $"{at}.role");
            }

            if (m.TryGetProperty("name", out var name) && name.ValueKind is not (JsonValueKind.String or JsonValueKind.Null))
            {
                throw new InvalidRequestBody($"{at}.name must be a string.", $"{at}.name");
            }

            var turn = role.GetString() switch
            {
                "system" or "developer" => new ChatTurn("system", Text(m, at, needs, images: false)),
                "user" => User(m, at, needs),
                "assistant" => Assistant(m, at, calls),
                "tool" => Tool(m, at, calls, needs),
                "function" => throw new InvalidRequestBody($"{at}: the legacy 'function' role is not supported; answer tool calls with 'role: \"tool\"' and 'tool_call_id'.", $"{at}.role"),
                var r => throw new InvalidRequestBody($"{at}.role '{r}' is not one of system, developer, user, assistant or tool.", $"{at}.role"),
            };
            turns.Add(turn);
            i++;
        }

        return turns;
    }

    private static ChatTurn User(JsonElement m, string at, List<(EngineFeatures, string)> needs)
    {
        var images = 0;
        var text = Text(m, at, needs, images: true, onImage: () => images++);
        return new ChatTurn("user", text) { Images = images };
    }

    private static ChatTurn Assistant(JsonElement m, string at, HashSet<string> calls)
    {
        List<ToolCall>? toolCalls = null;
        if (m.TryGetProperty("tool_calls", out var tc) && tc.ValueKind != JsonValueKind.Null)
        {
            if (tc.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidRequestBody($"{at}.tool_calls must be an array.", $"{at}.tool_calls");
            }

            toolCalls = [];
            var j = 0;
            foreach (var call in tc.EnumerateArray())
            {
                var cat = $"{at}.tool_calls[{j++}]";
                if (call.ValueKind != JsonValueKind.Object
                    || !call.TryGetProperty("id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString() is not { Length: > 0 } callId)
                {
                    throw new InvalidRequestBody($"{cat} must have a string 'id'.", $"{cat}.id");
                }

                if (call.TryGetProperty("type", out var type) && (type.ValueKind != JsonValueKind.String || type.GetString() != "function"))
                {
                    throw new InvalidRequestBody($"{cat}.type must be 'function'.", $"{cat}.type");
                }

                if (!call.TryGetProperty("function", out var f) || f.ValueKind != JsonValueKind.Object
                    || !f.TryGetProperty("name", out var fname) || fname.ValueKind != JsonValueKind.String || fname.GetString() is not { Length: > 0 } functionName)
                {
                    throw new InvalidRequestBody($"{cat}.function must be an object with a string 'name'.", $"{cat}.function");
                }

                var arguments = f.TryGetProperty("arguments", out var a) ? a.ValueKind switch
                {
                    JsonValueKind.String => a.GetString()!,
                    JsonValueKind.Null => "{}",
                    _ => throw new InvalidRequestBody($"{cat}.function.arguments must be a string of JSON.", $"{cat}.function.arguments"),
                } : "{}";
                calls.Add(callId);
                toolCalls.Add(new ToolCall(callId, functionName, arguments));
            }
        }

        var content = m.TryGetProperty("content", out var c) && c.ValueKind != JsonValueKind.Null ? Text(m, at, null, images: false) : null;
        if (content is null && toolCalls is not { Count: > 0 })
        {
            throw new InvalidRequestBody($"{at}: an assistant message needs 'content' or 'tool_calls'.", $"{at}.content");
        }

        return new ChatTurn("assistant", content ?? "", toolCalls);
    }

    private static ChatTurn Tool(JsonElement m, string at, HashSet<string> calls, List<(EngineFeatures, string)> needs)
    {
        if (!m.TryGetProperty("tool_call_id", out var id) || id.ValueKind != JsonValueKind.String || id.GetString() is not { Length: > 0 } callId)
        {
            throw new InvalidRequestBody($"{at}: a tool message needs the string 'tool_call_id' of the call it answers.", $"{at}.tool_call_id");
        }

        if (!calls.Contains(callId))
        {
            throw new InvalidRequestBody($"{at}.tool_call_id '{callId}' does not answer any tool call made by an earlier assistant message.", $"{at}.tool_call_id");
        }

        needs.Add((EngineFeatures.Tools, $"{at}"));
        return new ChatTurn("tool", Text(m, at, null, images: false), ToolCallId: callId);
    }

    /// <summary>The message's text: a string, or the concatenation of its text parts. Images count (and need a vision
    /// model) only in user messages.</summary>
    private static string Text(JsonElement message, string at, List<(EngineFeatures, string)>? needs, bool images, Action? onImage = null)
    {
        if (!message.TryGetProperty("content", out var content) || content.ValueKind == JsonValueKind.Null)
        {
            throw new InvalidRequestBody($"{at}.content is required.", $"{at}.content");
        }

        if (content.ValueKind == JsonValueKind.String)
        {
            return content.GetString()!;
        }

        if (content.ValueKind != JsonValueKind.Array)
        {
            throw new InvalidRequestBody($"{at}.content must be a string or an array of content parts.", $"{at}.content");
        }

        var text = new StringBuilder();
        var k = 0;
        foreach (var part in content.EnumerateArray())
        {
            var pat = $"{at}.content[{k++}]";
            if (part.ValueKind != JsonValueKind.Object || !part.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String)
            {
                throw new InvalidRequestBody($"{pat} must be an object with a string 'type'.", $"{pat}.type");
            }

            switch (type.GetString())
            {
                case "text" or "refusal":
                    var field = type.GetString()!;
                    if (!part.TryGetProperty(field, out var t) || t.ValueKind != JsonValueKind.String)
                    {
                        throw new InvalidRequestBody($"{pat}.{field} must be a string.", $"{pat}.{field}");
                    }

                    text.Append(t.GetString());
                    break;
                case "image_url" when images:
                    if (!part.TryGetProperty("image_url", out var image) || image.ValueKind != JsonValueKind.Object
                        || !image.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
                    {
                        throw new InvalidRequestBody($"{pat}.image_url must be an object with a string 'url'.", $"{pat}.image_url");
                    }

                    needs!.Add((EngineFeatures.Vision, pat));
                    onImage?.Invoke();
                    break;
                case var other:
                    throw new InvalidRequestBody(
                        $"{pat}: content parts of type '{other}' are not supported here (text{(images ? ", and images for vision models" : "")} only).", $"{pat}.type", "unsupported_parameter");
            }
        }

        return text.ToString();
    }
}
