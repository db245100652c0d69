using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lanes.Portal.Admin;

/// <summary>
/// What a command prints. Output shapes are stable: with <c>--json</c> one JSON document on stdout (and an error as
/// JSON on stderr), without it the same fields one per line.
/// </summary>
internal static class OperatorOutput
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary><c>--json</c>, taken by every command, before or after its words.</summary>
    public static readonly Option<bool> Json = new("--json")
    {
        Description = "Print the result, or the error, as one JSON document.",
        Recursive = true,
    };

    /// <summary>Whether to answer in JSON; a malformed --json (given twice) is a usage error, reported as text.</summary>
    public static bool WantsJson(ParseResult parse) =>
        parse.GetResult(Json) is { } given && !given.Errors.Any() && parse.GetValue(Json);

    /// <summary>With <c>--json</c> an error is JSON too, so a script parses every outcome the same way.</summary>
    public static async Task ErrorAsync(bool json, string code, string message, string text) =>
        await Console.Error.WriteLineAsync(json
            ? JsonSerializer.Serialize(new { error = new { code, message } }, new JsonSerializerOptions(JsonSerializerDefaults.Web))
            : text);

    public static void Print(object result, bool json)
    {
        var document = JsonSerializer.Serialize(result, JsonOptions);
        if (json)
        {
            Console.Out.WriteLine(document);
            return;
        }

        // Without --json: the same fields, one per line, readable in a terminal.
        using var doc = JsonDocument.Parse(document);
        var items = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().ToList() : [doc.RootElement];
        if (items.Count == 0)
        {
            Console.Out.WriteLine("(none)");
        }

        foreach (var item in items)
        {
            foreach (var p in item.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null))
            {
                Console.Out.WriteLine($"{p.Name,-18} {p.Value}");
            }

            Console.Out.WriteLine();
        }

        if (result.GetType().GetProperty("secret")?.GetValue(result) is string)
        {
            Console.Out.WriteLine("The secret is shown once: store it now.");
        }
    }
}
