using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Lanes.Inference.Engine.Torch.Constraints;
using static Lanes.Inference.Tests.Engine.Torch.Constraints.TestVocabularies;

namespace Lanes.Inference.Tests.Engine.Torch.Constraints;

/// <summary>
/// Random schemas, random token choices: whatever a sampler picks from the mask, the output is JSON that validates
/// (checked by an independent validator, JsonSchema.Net), the mask is never empty before the end, and the mask
/// says exactly what <see cref="GrammarMatcher.Accept"/> would take.
/// </summary>
public class GrammarPropertyTests
{
    private static readonly string[] Keys = ["id", "name", "a\"b", "ünïcode", "with space", "x", "tags", "nested", "back\\slash"];

    private static readonly Func<JsonNode?>[] EnumValues =
    [
        () => "red", () => "two words", () => "q\"uote", () => "é中", () => 1, () => -2.5, () => 0, () => true, () => false,
        () => null, () => new JsonObject { ["k"] = 1 }, () => new JsonArray(1, "x"),
    ];

    private static readonly Gen<JsonNode> Leaf = Gen.Frequency<JsonNode>(
        (3, Gen.Const<JsonNode>(() => new JsonObject { ["type"] = "string" })),
        (1, Gen.Int[0, 6].Select(max => (JsonNode)new JsonObject { ["type"] = "string", ["maxLength"] = max })),
        // minLength counts code points; JsonSchema.Net counts grapheme clusters ("\r\n" is one), so only 0 and 1
        // mean the same to both.
        (1, Gen.Int[0, 1].Select(min => (JsonNode)new JsonObject { ["type"] = "string", ["minLength"] = min, ["maxLength"] = 4 })),
        (2, Gen.Const<JsonNode>(() => new JsonObject { ["type"] = "integer" })),
        (2, Gen.Const<JsonNode>(() => new JsonObject { ["type"] = "number" })),
        (2, Gen.Select(Gen.Int[-30, 30], Gen.Int[0, 40], Gen.Int[0, 3], Gen.Bool, (low, width, exclusive, number) =>
        {
            var schema = new JsonObject { ["type"] = number ? "number" : "integer" };
            schema[(exclusive & 1) == 1 ? "exclusiveMinimum" : "minimum"] = low;
            // Wide enough that an integer fits even between two exclusive bounds.
            schema[(exclusive & 2) == 2 ? "exclusiveMaximum" : "maximum"] = low + width + (exclusive == 3 ? 2 : exclusive == 0 ? 0 : 1);
            return (JsonNode)schema;
        })),
        (1, Gen.Const<JsonNode>(() => new JsonObject { ["type"] = "boolean" })),
        (1, Gen.Const<JsonNode>(() => new JsonObject { ["type"] = "null" })),
        (1, Gen.Const<JsonNode>(() => new JsonObject { ["type"] = new JsonArray("string", "null") })),
        (1, Gen.Const<JsonNode>(() => new JsonObject { ["type"] = new JsonArray("integer", "boolean") })),
        (2, Gen.Int[0, EnumValues.Length - 1].Array[1, 4].Select(picks => (JsonNode)new JsonObject
        {
            ["enum"] = new JsonArray([.. picks.Distinct().Select(p => EnumValues[p]())]),
        })),
        (1, Gen.Int[0, EnumValues.Length - 1].Select(pick => (JsonNode)new JsonObject { ["const"] = EnumValues[pick]() })),
        (1, Gen.Const<JsonNode>(() => new JsonObject { ["description"] = "anything" })));

    private static Gen<JsonNode> Schema(int depth) => depth == 0 ? Leaf : Gen.Frequency(
        (4, Leaf),
        (3, Object(depth - 1)),
        (2, Array(depth - 1)),
        (1, Schema(depth - 1).Array[2, 3].Select(alternatives => (JsonNode)new JsonObject { ["anyOf"] = new JsonArray(alternatives) })),
        (1, Gen.Const<JsonNode>(() => new JsonObject
        {
            ["oneOf"] = new JsonArray(new JsonObject { ["type"] = "string" }, new JsonObject { ["type"] = "integer" }, new JsonObject { ["type"] = "null" }),
        })),
        (1, Object(depth - 1).Select(o =>
        {
            o["type"] = new JsonArray("object", "null");
            return o;
        })));

    private static Gen<JsonNode> Object(int depth) => Gen.Select(Schema(depth).Array[0, 4], Gen.Int[0, 15], Gen.Int[0, 2], Gen.Int[0, 4], (values, required, additional, rotate) =>
    {
        var properties = new JsonObject();
        var names = new JsonArray();
        for (var i = 0; i < values.Length; i++)
        {
            var key = Keys[(i + rotate) % Keys.Length];
            properties[key] = values[i];
            if ((required >> i & 1) == 1)
            {
                names.Add(key);
            }
        }

        var schema = new JsonObject { ["type"] = "object", ["properties"] = properties, ["required"] = names };
        if (additional < 2)
        {
            schema["additionalProperties"] = additional == 1;
        }

        return (JsonNode)schema;
    });

    private static Gen<JsonNode> Array(int depth) => Gen.Select(Schema(depth), Gen.Int[0, 2], Gen.Int[-1, 3], (items, min, extra) =>
    {
        var schema = new JsonObject { ["type"] = "array", ["items"] = items };
        if (min > 0)
        {
            schema["minItems"] = min;
        }

        if (extra >= 0)
        {
            schema["maxItems"] = min + extra;
        }

        return (JsonNode)schema;
    });

    /// <summary>Sometimes the root keeps a definition in $defs and refers to it twice.</summary>
    private static readonly Gen<string> Schemas = Gen.Select(Schema(3), Gen.Int[0, 3], (schema, wrap) => (wrap == 0
        ? new JsonObject
        {
            ["$defs"] = new JsonObject { ["item"] = schema },
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                ["first"] = new JsonObject { ["$ref"] = "#/$defs/item" },
                ["rest"] = new JsonObject { ["type"] = "array", ["items"] = new JsonObject { ["$ref"] = "#/$defs/item" }, ["maxItems"] = 2 },
            },
            ["required"] = new JsonArray("first", "rest"),
        }
        : schema).ToJsonString());

    [Fact]
    public void Whatever_the_sampler_picks_from_the_mask_the_output_validates_against_the_schema()
    {
        var runs = 0;
        var completed = 0;

        Schemas.Sample(text =>
        {
            using var document = JsonDocument.Parse(text);
            var grammar = Grammar.ForJsonSchema(document.RootElement);
            var validator = Validation.Validator(text);
            var random = new Random(text.Length);
            for (var run = 0; run < 3; run++)
            {
                var output = RandomGeneration.Run(grammar, Small, SmallSource.EndTokens, random, maxSteps: 300);
                Interlocked.Increment(ref runs);
                if (!output.Completed)
                {
                    continue;
                }

                Interlocked.Increment(ref completed);
                using var produced = JsonDocument.Parse(output.Bytes);
                var result = validator.Evaluate(produced.RootElement);
                Assert.True(result.IsValid, $"{output.Text} does not validate against {text}");
            }
        }, iter: 150, seed: "0N0XIzNsQ0O2");

        Assert.True(completed > runs * 3 / 4, $"only {completed} of {runs} generations finished within the step limit");
    }

    [Fact]
    public void A_recursive_schema_generates_valid_trees()
    {
        const string text = """
            {"$defs": {"node": {"type": "object", "properties": {"label": {"type": "string", "maxLength": 8},
              "children": {"type": "array", "items": {"$ref": "#/$defs/node"}, "maxItems": 3}}, "required": ["label"],
              "additionalProperties": false}}, "$ref": "#/$defs/node"}
            """;
        var grammar = GrammarMatcherTests.Schema(text);
        var validator = Validation.Validator(text);
        var random = new Random(17);
        var nested = 0;

        for (var run = 0; run < 60; run++)
        {
            var output = RandomGeneration.Run(grammar, Small, SmallSource.EndTokens, random, maxSteps: 500);
            if (output.Completed)
            {
                using var produced = JsonDocument.Parse(output.Bytes);
                Assert.True(validator.Evaluate(produced.RootElement).IsValid, output.Text);
                nested += output.Text.Contains("\"children\"", StringComparison.Ordinal) ? 1 : 0;
            }
        }

        Assert.True(nested > 0);
    }

    [Fact]
    public void The_mask_holds_exactly_the_tokens_that_accept_would_take()
    {
        Schemas.Sample(text =>
        {
            using var document = JsonDocument.Parse(text);
            var grammar = Grammar.ForJsonSchema(document.RootElement);
            var checkAt = new Random(text.Length);
            RandomGeneration.Run(grammar, Small, SmallSource.EndTokens, new Random(text.Length + 1), maxSteps: 120, eachStep: (matcher, mask) =>
            {
                if (checkAt.Next(8) != 0)
                {
                    return;
                }

                for (var id = 0; id < Small.Size; id++)
                {
                    var inMask = (mask[id >> 6] >> (id & 63) & 1) == 1;
                    if (inMask != matcher.CanAccept(id))
                    {
                        Assert.Fail($"token {id} ({JsonSerializer.Serialize(System.Text.Encoding.Latin1.GetString(Small.Bytes(id)))}) is {(inMask ? "" : "not ")}in the mask but Accept says otherwise, schema {text}");
                    }
                }
            });
        }, iter: 40, seed: "0N0XIzNsQ0O2");
    }

    [Fact]
    public void Json_object_mode_always_produces_an_object()
    {
        var random = new Random(23);
        for (var run = 0; run < 40; run++)
        {
            var output = RandomGeneration.Run(Grammar.AnyJsonObject(), Small, SmallSource.EndTokens, random);
            if (output.Completed)
            {
                using var produced = JsonDocument.Parse(output.Bytes);
                Assert.Equal(JsonValueKind.Object, produced.RootElement.ValueKind);
            }
        }
    }
}
