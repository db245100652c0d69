using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Lanes.Inference.Api;

/// <summary>How a door writes the path of a field in its errors: <c>messages[0].content</c> (OpenAI) or
/// <c>messages.0.content</c> (Anthropic).</summary>
public enum JsonPathStyle
{
    Brackets,
    Dots,
}

/// <summary>A value in a request body that no parser can read, and where it is (null: the body itself).</summary>
public readonly record struct JsonFault(string? Path, string Problem, string Code);

/// <summary>
/// Finds the first value of a JSON body that is syntactically fine but cannot be read: a string or property name that
/// is not valid UTF-8 or holds a lone surrogate escape such as <c>"\ud800"</c>, or a number beyond the range of a
/// double such as <c>1e400</c>. <see cref="JsonDocument"/> accepts all of these and only fails (or yields infinity)
/// when the value is read, which may be deep inside a parser or an engine; checking the whole body once, at the door,
/// lets every parser after it read any string or number without a failure path, and names the field in the 400.
/// </summary>
public static class UnreadableJson
{
    /// <summary>The first unreadable value, or null. Throws <see cref="JsonException"/> when the body is not JSON.</summary>
    public static JsonFault? Find(ReadOnlySpan<byte> json, JsonPathStyle style)
    {
        // The same limits JsonDocument.Parse applies afterwards, so this pass fails exactly where parsing would.
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 64 });
        Span<Frame> frames = stackalloc Frame[65];
        var depth = 0;
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject or JsonTokenType.StartArray:
                    Element(frames, depth);
                    frames[depth++] = new Frame(reader.TokenType == JsonTokenType.StartArray, -1, 0, 0);
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    depth--;
                    break;
                case JsonTokenType.PropertyName:
                    frames[depth - 1] = frames[depth - 1] with { NameStart = (int)reader.TokenStartIndex + 1, NameLength = reader.ValueSpan.Length };
                    if (StringProblem(ref reader) is { } nameProblem)
                    {
                        return new JsonFault(PathOf(json, frames[..depth], style), $"has a property name that {nameProblem}", "invalid_json");
                    }

                    break;
                case JsonTokenType.String:
                    Element(frames, depth);
                    if (StringProblem(ref reader) is { } problem)
                    {
                        return new JsonFault(PathOf(json, frames[..depth], style), problem, "invalid_json");
                    }

                    break;
                case JsonTokenType.Number:
                    Element(frames, depth);
                    if (!reader.TryGetDouble(out var number) || !double.IsFinite(number))
                    {
                        return new JsonFault(PathOf(json, frames[..depth], style), "is a number too large to represent", "invalid_request");
                    }

                    break;
                default:
                    Element(frames, depth);
                    break;
            }
        }

        return null;
    }

    /// <summary>A value starts: inside an array it is the next element.</summary>
    private static void Element(Span<Frame> frames, int depth)
    {
        if (depth > 0 && frames[depth - 1].IsArray)
        {
            frames[depth - 1].Index++;
        }
    }

    private static string? StringProblem(ref Utf8JsonReader reader)
    {
        var raw = reader.ValueSpan;
        if (!Utf8.IsValid(raw))
        {
            return "is not valid UTF-8";
        }

        if (reader.ValueIsEscaped && MayHoldSurrogateEscape(raw))
        {
            try
            {
                reader.GetString();
            }
            catch (InvalidOperationException)
            {
                return "holds a lone surrogate escape (\\ud800 to \\udfff without its pair), which is not valid Unicode";
            }
        }

        return null;
    }

    /// <summary>Cheap filter before decoding: only a <c>\uD800</c>-<c>\uDFFF</c> escape can make an escaped string
    /// undecodable (an escaped backslash before "ud8.." is a harmless false positive).</summary>
    private static bool MayHoldSurrogateEscape(ReadOnlySpan<byte> raw)
    {
        for (var at = raw.IndexOf("\\u"u8); at >= 0 && at + 3 < raw.Length; at = NextEscape(raw, at))
        {
            var hex = raw[at + 3] | 0x20;
            if ((raw[at + 2] | 0x20) == 'd' && hex is >= '8' and <= '9' or >= 'a' and <= 'f')
            {
                return true;
            }
        }

        return false;

        static int NextEscape(ReadOnlySpan<byte> raw, int at)
        {
            var next = raw[(at + 2)..].IndexOf("\\u"u8);
            return next < 0 ? -1 : at + 2 + next;
        }
    }

    /// <summary>The path to the value being read. Property names are shown as written, escapes included: the name
    /// itself may be the unreadable part.</summary>
    private static string? PathOf(ReadOnlySpan<byte> json, ReadOnlySpan<Frame> frames, JsonPathStyle style)
    {
        if (frames.IsEmpty)
        {
            return null;
        }

        var path = new StringBuilder();
        foreach (var frame in frames)
        {
            if (frame.IsArray)
            {
                path.Append(style == JsonPathStyle.Brackets ? $"[{frame.Index}]" : $"{(path.Length > 0 ? "." : "")}{frame.Index}");
                continue;
            }

            if (path.Length > 0)
            {
                path.Append('.');
            }

            // Invalid UTF-8 in a name is shown as U+FFFD rather than failing the error itself.
            path.Append(Encoding.UTF8.GetString(json.Slice(frame.NameStart, frame.NameLength)));
        }

        return path.ToString();
    }

    /// <summary>An open object or array: the index of its current element, or where its current property name is.</summary>
    private record struct Frame(bool IsArray, int Index, int NameStart, int NameLength);
}
