using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;

namespace Lanes.Testing;

/// <summary>
/// A request body as a fuzz test sends it: raw bytes (not necessarily UTF-8, not necessarily JSON), its content type
/// (null: none), and the one mutation that made it from a valid body.
/// </summary>
public sealed record MalformedBody(string Mutation, byte[] Bytes, string? ContentType = "application/json")
{
    /// <summary>
    /// The bytes are JSON syntax with an object at the root, so every field the server could object to has a name:
    /// a refusal of such a body should name the field. False for truncated text, stray bytes and non-object roots.
    /// (Lone surrogate escapes, bad UTF-8 inside a string and 1e400 are still "JSON" here: they have a place.)
    /// </summary>
    public bool IsJsonObject
    {
        get
        {
            try
            {
                using var doc = JsonDocument.Parse(Bytes);
                return doc.RootElement.ValueKind == JsonValueKind.Object;
            }
            catch (JsonException)
            {
                return false;
            }
        }
    }

    public HttpContent ToContent()
    {
        var content = new ByteArrayContent(Bytes);
        if (ContentType is not null)
        {
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(ContentType);
        }

        return content;
    }

    /// <summary>What CsCheck prints for a failing sample: the mutation and the body, invalid bytes shown as U+FFFD.</summary>
    public override string ToString()
    {
        var text = Encoding.UTF8.GetString(Bytes);
        return $"{Mutation} [{ContentType ?? "no content type"}]: {(text.Length > 600 ? text[..600] + "…" : text)}";
    }
}

/// <summary>
/// CsCheck generators of malformed request bodies, each one mutation of a valid body: a value at any path replaced by
/// one of the wrong type, a lone surrogate, an overflowing number or deep nesting; a property name made unreadable,
/// a property removed, duplicated or added; the text truncated or broken with invalid UTF-8; the root replaced; or
/// the content type changed. Meant for "no input answers 5xx" tests of any JSON endpoint: give it a body the endpoint
/// accepts, so the mutations probe every field it reads.
/// </summary>
public static class MalformedJson
{
    /// <summary>Values that are wrong somewhere in almost every schema: each type, empty and nested containers, lone
    /// surrogates, numbers past every integer and float range, dates out of range, and nesting near parsers' limits.</summary>
    public static readonly IReadOnlyList<(string Name, byte[] Raw)> HostileValues =
    [
        .. new[]
        {
            "\"\"", "\"x\"", "\" \"", "0", "-1", "1.5", "true", "false", "null", "[]", "{}", "[null]", "[1,\"a\",{}]", "{\"a\":1}",
            "{\"type\":1}", "[{\"type\":null,\"text\":1}]", "[{\"type\":\"text\",\"text\":[]}]", "{\"\":null}",
            // Lone surrogates, alone, among text, reversed, and inside containers.
            "\"\\ud800\"", "\"\\udfff\"", "\"a\\ud800b\"", "\"\\udc00\\ud800\"", "\"\\ud800\\u0041\"", "[\"\\udbff\"]", "{\"\\ud800\":\"\\udfff\"}",
            "[{\"type\":\"text\",\"text\":\"\\ud800\"}]", "[{\"type\":\"\\ud800\"}]",
            // Numbers: past double, past long/ulong, past int, past decimal, and tiny.
            "1e400", "-1e400", "1E+309", "1e-400", "-0", "9223372036854775808", "-9223372036854775809", "18446744073709551616",
            "2147483648", "-2147483649", "79228162514264337593543950336", "123456789012345678901234567890.5", "0.0000000000000000000000000001",
            // Unix times just past DateTimeOffset's range (year 10000, before year 1).
            "253402300800", "-62135596801",
            // Strings that look like other things, or dates at and past the edges of DateTimeOffset.
            "\"1\"", "\"true\"", "\"null\"", "\"NaN\"", "\"-Infinity\"", "\"9999-12-31T23:59:59Z\"", "\"9999-12-31T23:00:00-01:00\"",
            "\"0001-01-01T00:00:00+01:00\"", "\"2026-13-45T99:99:99Z\"", "\"00000000-0000-0000-0000-000000000000\"", "\"\\u0000\"", "\"a\\nb\\t\\\"\"",
            new string('[', 63) + new string(']', 63), Nested(12), Nested(40), "\"" + new string('a', 20_000) + "\"",
        }.Select(v => (v, Encoding.UTF8.GetBytes(v))),
        // Raw bytes that are not UTF-8, inside a string (the JSON is otherwise well formed).
        ("\"a\\xFFb\"", [(byte)'"', (byte)'a', 0xFF, (byte)'b', (byte)'"']),
        ("\"\\xC0\\x80\"", [(byte)'"', 0xC0, 0x80, (byte)'"']),
        ("\"\\xED\\xA0\\x80\" (CESU-8 surrogate)", [(byte)'"', 0xED, 0xA0, 0x80, (byte)'"']),
        ("\"\\xE2\\x82\" (cut sequence)", [(byte)'"', 0xE2, 0x82, (byte)'"']),
        ("\"\\xF5\\x80\\x80\\x80\"", [(byte)'"', 0xF5, 0x80, 0x80, 0x80, (byte)'"']),
    ];

    /// <summary>Property names no parser should trip on: lone surrogates, invalid UTF-8, empty, NUL, near-duplicates.</summary>
    public static readonly IReadOnlyList<(string Name, byte[] Raw)> HostileNames =
    [
        .. new[] { "\"\\ud800\"", "\"\\udfff\"", "\"x\\udc00\"", "\"\"", "\"\\u0000\"", "\" \"", "\"__proto__\"", "\"$ref\"" }.Select(v => (v, Encoding.UTF8.GetBytes(v))),
        ("\"\\xFF\"", [(byte)'"', 0xFF, (byte)'"']),
        ("\"\\xED\\xB0\\x80\"", [(byte)'"', 0xED, 0xB0, 0x80, (byte)'"']),
    ];

    /// <summary>Whole bodies that are not the expected object.</summary>
    public static readonly IReadOnlyList<(string Name, byte[] Raw)> HostileRoots =
    [
        .. new[] { "", " ", "null", "true", "0", "1e400", "\"text\"", "\"\\ud800\"", "[]", "[{}]", "{}", "{", "}", "{\"a\":}", "{\"a\" 1}", "{'a':1}",
            "{\"a\":1,}", "[1,]", "/* c */{}", "NaN", new string('[', 100_000), new string('{', 1_000) }.Select(v => (v, Encoding.UTF8.GetBytes(v))),
        ("\\xFF\\xFE", [0xFF, 0xFE]),
        ("\\x00", [0x00]),
    ];

    public static readonly IReadOnlyList<string?> OtherContentTypes =
        [null, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=utf-16", "application/xml"];

    /// <summary>One-mutation variants of <paramref name="validJson"/>.</summary>
    public static Gen<MalformedBody> Of(string validJson)
    {
        var root = JsonNode.Parse(validJson) ?? throw new ArgumentException("The valid body is JSON null.", nameof(validJson));
        var values = new List<string>();
        var properties = new List<string>();
        var containers = new List<string>();
        Collect(root, "", values, properties, containers);
        var valid = Write(root, new Edit(EditKind.None, "", []));

        var replace = Gen.Select(Gen.Int[0, values.Count - 1], Gen.Int[0, HostileValues.Count - 1], (at, v) =>
            Mutated($"{Show(values[at])} := {HostileValues[v].Name}", root, new Edit(EditKind.Replace, values[at], HostileValues[v].Raw)));
        var mutations = new List<(int, IGen<MalformedBody>)>
        {
            (10, replace),
            (1, Gen.Int[0, HostileRoots.Count - 1].Select(r => new MalformedBody($"body := {Show(HostileRoots[r].Name)}", HostileRoots[r].Raw))),
            (1, Gen.Int[1, Math.Max(1, valid.Length - 1)].Select(n => new MalformedBody($"truncated at byte {n}", valid[..n]))),
            (1, Gen.Select(Gen.Int[0, valid.Length], Gen.OneOf<byte[]>([0xFF], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0x00], [0xE2, 0x82]), (at, bad) =>
                new MalformedBody($"bytes {Convert.ToHexString(bad)} inserted at {at}", [.. valid[..at], .. bad, .. valid[at..]]))),
            (1, Gen.Select(Gen.Int[1, 200], Gen.Bool, (depth, asArray) => new MalformedBody(
                $"body nested in {depth} {(asArray ? "arrays" : "objects")}",
                asArray ? [.. Repeat("[", depth), .. valid, .. Repeat("]", depth)] : [.. Repeat("{\"a\":", depth), .. valid, .. Repeat("}", depth)]))),
            (1, Gen.Int[0, OtherContentTypes.Count - 1].Select(c => new MalformedBody($"content type {OtherContentTypes[c] ?? "none"}", valid, OtherContentTypes[c]))),
            (1, Gen.OneOf(
                Gen.Const(new MalformedBody("a byte order mark first", [0xEF, 0xBB, 0xBF, .. valid])),
                Gen.Const(new MalformedBody("the body twice", [.. valid, .. valid])),
                Gen.Const(new MalformedBody("a trailing brace", [.. valid, (byte)'}'])))),
        };

        if (properties.Count > 0)
        {
            mutations.Add((2, Gen.Select(Gen.Int[0, properties.Count - 1], Gen.Int[0, HostileNames.Count - 1], (at, n) =>
                Mutated($"name of {Show(properties[at])} := {HostileNames[n].Name}", root, new Edit(EditKind.Rename, properties[at], HostileNames[n].Raw)))));
            mutations.Add((2, Gen.Int[0, properties.Count - 1].Select(at =>
                Mutated($"{Show(properties[at])} removed", root, new Edit(EditKind.Remove, properties[at], [])))));
            mutations.Add((2, Gen.Select(Gen.Int[0, properties.Count - 1], Gen.Int[0, HostileValues.Count - 1], (at, v) =>
                Mutated($"{Show(properties[at])} given twice, then {HostileValues[v].Name}", root, new Edit(EditKind.Duplicate, properties[at], HostileValues[v].Raw)))));
        }

        if (containers.Count > 0)
        {
            mutations.Add((2, Gen.Select(Gen.Int[0, containers.Count - 1], Gen.Int[0, HostileNames.Count - 1], Gen.Int[0, HostileValues.Count - 1], (at, n, v) =>
                Mutated($"{Show(containers[at])} gains {HostileNames[n].Name}: {HostileValues[v].Name}", root,
                    new Edit(EditKind.Add, containers[at], [.. HostileNames[n].Raw, (byte)':', .. HostileValues[v].Raw])))));
        }

        return Gen.Frequency([.. mutations]);
    }

    private enum EditKind
    {
        None,
        Replace,
        Rename,
        Remove,
        Duplicate,
        Add,
    }

    /// <summary>One change at <paramref name="Target"/>, a JSON Pointer ("" is the root): the raw bytes of the new
    /// value, name, or (for Add) <c>name:value</c>; an Add to an array adds just the value.</summary>
    private sealed record Edit(EditKind Kind, string Target, byte[] Raw);

    private static MalformedBody Mutated(string mutation, JsonNode root, Edit edit) => new(mutation, Write(root, edit));

    private static void Collect(JsonNode? node, string pointer, List<string> values, List<string> properties, List<string> containers)
    {
        values.Add(pointer);
        switch (node)
        {
            case JsonObject o:
                containers.Add(pointer);
                foreach (var (name, child) in o)
                {
                    var at = $"{pointer}/{Escape(name)}";
                    properties.Add(at);
                    Collect(child, at, values, properties, containers);
                }

                break;
            case JsonArray a:
                containers.Add(pointer);
                for (var i = 0; i < a.Count; i++)
                {
                    Collect(a[i], $"{pointer}/{i}", values, properties, containers);
                }

                break;
        }
    }

    private static string Escape(string name) => name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    private static string Show(string pointer) => pointer.Length == 0 ? "body" : pointer;

    /// <summary>Serializes <paramref name="root"/> with the edit applied, writing raw bytes where JSON writers would
    /// refuse to (lone surrogates, invalid UTF-8, duplicate names).</summary>
    private static byte[] Write(JsonNode? root, Edit edit)
    {
        var output = new MemoryStream();
        Write(output, root, "", edit);
        return output.ToArray();
    }

    private static void Write(MemoryStream output, JsonNode? node, string pointer, Edit edit)
    {
        if (edit.Kind == EditKind.Replace && edit.Target == pointer)
        {
            output.Write(edit.Raw);
            return;
        }

        switch (node)
        {
            case JsonObject o:
                output.WriteByte((byte)'{');
                var first = true;
                foreach (var (name, child) in o)
                {
                    var at = $"{pointer}/{Escape(name)}";
                    if (edit.Kind == EditKind.Remove && edit.Target == at)
                    {
                        continue;
                    }

                    Separate(output, ref first);
                    output.Write(edit.Kind == EditKind.Rename && edit.Target == at ? edit.Raw : JsonSerializer.SerializeToUtf8Bytes(name));
                    output.WriteByte((byte)':');
                    Write(output, child, at, edit);
                    if (edit.Kind == EditKind.Duplicate && edit.Target == at)
                    {
                        output.WriteByte((byte)',');
                        output.Write(JsonSerializer.SerializeToUtf8Bytes(name));
                        output.WriteByte((byte)':');
                        output.Write(edit.Raw);
                    }
                }

                if (edit.Kind == EditKind.Add && edit.Target == pointer)
                {
                    Separate(output, ref first);
                    output.Write(edit.Raw);
                }

                output.WriteByte((byte)'}');
                break;
            case JsonArray a:
                output.WriteByte((byte)'[');
                var firstItem = true;
                for (var i = 0; i < a.Count; i++)
                {
                    Separate(output, ref firstItem);
                    Write(output, a[i], $"{pointer}/{i}", edit);
                }

                if (edit.Kind == EditKind.Add && edit.Target == pointer)
                {
                    // An array takes the value only: what follows the name's colon.
                    Separate(output, ref firstItem);
                    output.Write(edit.Raw.AsSpan(edit.Raw.AsSpan().IndexOf((byte)':') + 1));
                }

                output.WriteByte((byte)']');
                break;
            default:
                output.Write(JsonSerializer.SerializeToUtf8Bytes(node));
                break;
        }
    }

    private static void Separate(MemoryStream output, ref bool first)
    {
        if (!first)
        {
            output.WriteByte((byte)',');
        }

        first = false;
    }

    private static byte[] Repeat(string text, int times) => Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(text, times)));

    private static string Nested(int depth) => string.Concat(Enumerable.Repeat("{\"a\":[", depth)) + string.Concat(Enumerable.Repeat("]}", depth));
}
