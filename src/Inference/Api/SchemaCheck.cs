using System.Text.Json;

namespace Lanes.Inference.Api;

/// <summary>
/// Checks that a JSON Schema is well formed where the keywords we and upstream engines act on are concerned (types,
/// properties, required, items, enum, combinators, references), so a broken schema is a 400 naming where it breaks
/// rather than a failure deep inside an engine.
/// </summary>
internal static class SchemaCheck
{
    private static readonly HashSet<string> Types = ["object", "array", "string", "number", "integer", "boolean", "null"];

    /// <summary>Deep enough for any real tool schema; deeper nesting is refused rather than risking the stack.</summary>
    private const int MaxDepth = 32;

    public static void Validate(JsonElement schema, string path) => Check(schema, path, 0);

    private static void Check(JsonElement s, string path, int depth)
    {
        if (depth > MaxDepth)
        {
            throw Invalid(path, $"nests deeper than {MaxDepth} levels");
        }

        if (s.ValueKind is JsonValueKind.True or JsonValueKind.False)
        {
            return;
        }

        if (s.ValueKind != JsonValueKind.Object)
        {
            throw Invalid(path, "must be a JSON Schema object");
        }

        foreach (var k in s.EnumerateObject())
        {
            var at = $"{path}.{k.Name}";
            var v = k.Value;
            switch (k.Name)
            {
                case "type":
                    var ok = v.ValueKind == JsonValueKind.String ? Types.Contains(v.GetString()!)
                        : v.ValueKind == JsonValueKind.Array && v.GetArrayLength() > 0 && v.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String && Types.Contains(t.GetString()!));
                    if (!ok)
                    {
                        throw Invalid(at, "must be one of object, array, string, number, integer, boolean, null (or an array of them)");
                    }

                    break;
                case "properties" or "$defs" or "definitions" or "patternProperties":
                    if (v.ValueKind != JsonValueKind.Object)
                    {
                        throw Invalid(at, "must be an object of schemas");
                    }

                    foreach (var p in v.EnumerateObject())
                    {
                        Check(p.Value, $"{at}.{p.Name}", depth + 1);
                    }

                    break;
                case "required":
                    if (v.ValueKind != JsonValueKind.Array || !v.EnumerateArray().All(r => r.ValueKind == JsonValueKind.String))
                    {
                        throw Invalid(at, "must be an array of property names");
                    }

                    break;
                case "items" or "additionalProperties" or "not" or "contains" or "propertyNames" or "if" or "then" or "else":
                    Check(v, at, depth + 1);
                    break;
                case "prefixItems" or "anyOf" or "oneOf" or "allOf":
                    if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
                    {
                        throw Invalid(at, "must be a non-empty array of schemas");
                    }

                    var i = 0;
                    foreach (var item in v.EnumerateArray())
                    {
                        Check(item, $"{at}[{i++}]", depth + 1);
                    }

                    break;
                case "enum":
                    if (v.ValueKind != JsonValueKind.Array || v.GetArrayLength() == 0)
                    {
                        throw Invalid(at, "must be a non-empty array");
                    }

                    break;
                case "$ref":
                    if (v.ValueKind != JsonValueKind.String)
                    {
                        throw Invalid(at, "must be a string");
                    }

                    break;
                case "minimum" or "maximum" or "exclusiveMinimum" or "exclusiveMaximum" or "multipleOf":
                    if (v.ValueKind != JsonValueKind.Number)
                    {
                        throw Invalid(at, "must be a number");
                    }

                    break;
                case "minLength" or "maxLength" or "minItems" or "maxItems" or "minProperties" or "maxProperties":
                    if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt32(out var n) || n < 0)
                    {
                        throw Invalid(at, "must be a non-negative integer");
                    }

                    break;
                case "pattern" or "format" or "description" or "title":
                    if (v.ValueKind != JsonValueKind.String)
                    {
                        throw Invalid(at, "must be a string");
                    }

                    break;
            }
        }
    }

    private static InvalidRequestBody Invalid(string path, string why) =>
        new InvalidRequestBody($"Invalid JSON Schema: '{path}' {why}.", path, "invalid_schema");
}
