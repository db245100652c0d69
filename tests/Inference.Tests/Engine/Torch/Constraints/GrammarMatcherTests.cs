using System.Text;
using System.Text.Json;
using Lanes.Inference.Engine.Torch.Constraints;
using static Lanes.Inference.Tests.Engine.Torch.Constraints.TestVocabularies;

namespace Lanes.Inference.Tests.Engine.Torch.Constraints;

public class GrammarMatcherTests
{
    [Fact]
    public void A_string_enum_allows_exactly_its_spellings()
    {
        var grammar = Schema("""{"type": "string", "enum": ["celsius", "fahrenheit", "kelvin"]}""");

        Assert.Equal(["\"celsius\"", "\"fahrenheit\"", "\"kelvin\""], Spellings(grammar, maxLength: 20));
    }

    [Fact]
    public void An_enum_of_mixed_values_allows_their_compact_spellings_only()
    {
        var grammar = Schema("""{"enum": [1, "one", null, true, {"a": [1, 2]}]}""");

        Assert.Equal(["\"one\"", "1", "null", "true", "{\"a\":[1,2]}"], Spellings(grammar, maxLength: 20));
    }

    [Fact]
    public void Every_required_property_appears_in_declared_order_and_optional_ones_may_be_left_out()
    {
        var grammar = Schema("""
            {"type": "object", "properties": {"city": {"type": "string"}, "days": {"type": "integer"}, "unit": {"enum": ["c", "f"]}},
             "required": ["city", "unit"], "additionalProperties": false}
            """);
        var random = new Random(3);
        var seenDays = new HashSet<bool>();

        for (var run = 0; run < 40; run++)
        {
            var output = RandomGeneration.Run(grammar, Small, SmallSource.EndTokens, random);

            Assert.True(output.Completed);
            var keys = JsonDocument.Parse(output.Bytes).RootElement.EnumerateObject().Select(p => p.Name).ToList();
            Assert.Equal(keys.Contains("days") ? ["city", "days", "unit"] : ["city", "unit"], keys);
            seenDays.Add(keys.Contains("days"));
        }

        Assert.Equal(2, seenDays.Count);
    }

    [Fact]
    public void AdditionalProperties_false_refuses_an_unknown_key()
    {
        var grammar = Schema("""{"type": "object", "properties": {"name": {"type": "string"}, "age": {"type": "integer"}}, "additionalProperties": false}""");
        var matcher = new GrammarMatcher(grammar, Bytes, ByteEnds);

        AcceptBytes(matcher, "{\"");

        Assert.Equal("an", AllowedBytes(matcher));
        Assert.False(matcher.Accept('x'));
    }

    [Fact]
    public void A_recursive_schema_nests_through_its_ref_and_completes()
    {
        var grammar = Schema("""
            {"$ref": "#/$defs/node", "$defs": {"node": {"type": "object",
              "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
              "required": ["value", "children"], "additionalProperties": false}}}
            """);
        var matcher = new GrammarMatcher(grammar, Small, SmallSource.EndTokens);

        foreach (var token in SmallSource.Encode("""{"value": 1, "children": [{"value": 2, "children": [{"value": 3, "children": []}]}, {"value": 4, "children": []}]}"""))
        {
            Assert.Contains(token, RandomGeneration.Allowed(matcher, Small));
            Assert.True(matcher.Accept(token));
        }

        Assert.True(matcher.IsComplete);
    }

    [Fact]
    public void The_tool_call_envelope_is_exactly_prefix_then_arguments_then_suffix()
    {
        var parameters = """{"type": "object", "properties": {"location": {"type": "string"}}, "required": ["location"], "additionalProperties": false}""";
        var grammar = Grammar.Sequence("<tool_call>\n", Schema(parameters), "\n</tool_call>");
        var random = new Random(5);

        for (var run = 0; run < 20; run++)
        {
            var text = RandomGeneration.Run(grammar, Small, SmallSource.EndTokens, random).Text;

            Assert.StartsWith("<tool_call>\n{", text, StringComparison.Ordinal);
            Assert.EndsWith("}\n</tool_call>", text, StringComparison.Ordinal);
            var body = JsonDocument.Parse(text["<tool_call>\n".Length..^"\n</tool_call>".Length]).RootElement;
            Assert.Equal(JsonValueKind.String, body.GetProperty("location").ValueKind);
        }
    }

    [Fact]
    public void The_hermes_tool_call_names_the_tool_and_carries_its_arguments()
    {
        using var parameters = JsonDocument.Parse("""{"type": "object", "properties": {"unit": {"enum": ["c", "f"]}}, "required": ["unit"]}""");
        var grammar = Grammar.HermesToolCall("get_weather", parameters.RootElement);

        var text = RandomGeneration.Run(grammar, Small, SmallSource.EndTokens, new Random(2)).Text;

        var call = JsonDocument.Parse(text["<tool_call>\n".Length..^"\n</tool_call>".Length]).RootElement;
        Assert.Equal("get_weather", call.GetProperty("name").GetString());
        Assert.Contains(call.GetProperty("arguments").GetProperty("unit").GetString(), new[] { "c", "f" });
    }

    [Fact]
    public void A_tool_calls_parameters_resolve_their_own_refs_under_the_key_the_format_uses()
    {
        // Pydantic-style parameters: the $ref points into the parameters' own $defs, not the call object's.
        using var parameters = JsonDocument.Parse("""{"$defs": {"unit": {"enum": ["c", "f"]}}, "type": "object", "properties": {"unit": {"$ref": "#/$defs/unit"}}, "required": ["unit"]}""");
        var matcher = new GrammarMatcher(Grammar.ToolCall("convert", parameters.RootElement, argumentsKey: "parameters"), Bytes, ByteEnds);

        AcceptBytes(matcher, """{"name": "convert", "parameters": {"unit": """);
        Assert.Equal("\"", AllowedBytes(matcher));
        AcceptBytes(matcher, "\"");
        Assert.Equal("cf", AllowedBytes(matcher));
        AcceptBytes(matcher, "f\"}}");
        Assert.True(matcher.IsComplete);
    }

    [Fact]
    public void One_of_several_envelopes_allows_each_and_nothing_else()
    {
        var grammar = Grammar.OneOf([Grammar.Sequence("A:", Schema("""{"type": "integer"}"""), ";"), Grammar.Sequence("B:", Schema("""{"type": "boolean"}"""), ";")]);
        var matcher = new GrammarMatcher(grammar, Bytes, ByteEnds);

        Assert.Equal("AB", AllowedBytes(matcher));
        AcceptBytes(matcher, "B:");
        Assert.Equal("ft", AllowedBytes(matcher));
        AcceptBytes(matcher, "true;");
        Assert.True(matcher.IsComplete);
    }

    [Fact]
    public void End_tokens_are_allowed_only_once_the_value_is_complete_and_then_alone()
    {
        var matcher = new GrammarMatcher(Grammar.AnyJsonObject(), Bytes, ByteEnds);
        var text = "{\"a\": [1, {\"b\": null}]}";

        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            var allowed = RandomGeneration.Allowed(matcher, Bytes);
            Assert.DoesNotContain(256, allowed);
            Assert.False(matcher.Accept(257));
            Assert.True(matcher.Accept(b));
        }

        Assert.True(matcher.IsComplete);
        Assert.Equal(ByteEnds, RandomGeneration.Allowed(matcher, Bytes));
        Assert.True(matcher.Accept(257));
        Assert.True(matcher.IsTerminated);
        Assert.False(matcher.Accept('{'));
    }

    [Fact]
    public void A_top_level_number_may_end_or_take_more_digits()
    {
        var matcher = new GrammarMatcher(Schema("""{"type": "integer"}"""), Bytes, ByteEnds);

        AcceptBytes(matcher, "-12");

        Assert.Equal("0123456789\u0100\u0101", AllowedBytes(matcher, includeEnds: true));
    }

    [Fact]
    public void Integers_stop_at_fifteen_digits()
    {
        var matcher = new GrammarMatcher(Schema("""{"type": "integer"}"""), Bytes, ByteEnds);

        AcceptBytes(matcher, "123456789012345");

        Assert.Equal(ByteEnds, RandomGeneration.Allowed(matcher, Bytes));
    }

    [Fact]
    public void Numbers_follow_json_syntax()
    {
        var matcher = new GrammarMatcher(Schema("""{"type": "number"}"""), Bytes, ByteEnds);

        Assert.Equal("-0123456789", AllowedBytes(matcher));
        AcceptBytes(matcher, "0");
        Assert.Equal(".Ee", AllowedBytes(matcher));
        AcceptBytes(matcher, ".");
        Assert.Equal("0123456789", AllowedBytes(matcher));
        AcceptBytes(matcher, "5e");
        Assert.Equal("+-0123456789", AllowedBytes(matcher));
    }

    [Fact]
    public void A_bounded_integer_allows_exactly_the_integers_in_range()
    {
        var grammar = Schema("""{"type": "integer", "minimum": -12, "exclusiveMaximum": 8}""");

        var expected = Enumerable.Range(-12, 20).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)).Order(StringComparer.Ordinal);
        Assert.Equal(expected, Spellings(grammar, maxLength: 4));
    }

    [Theory]
    [InlineData("0", false)]
    [InlineData("0.000", false)]
    [InlineData("0.001", true)]
    [InlineData("1.5", true)]
    [InlineData("2", true)]
    [InlineData("2.000", true)]
    public void A_bounded_number_compares_its_fraction_at_the_bounds(string text, bool complete)
    {
        var matcher = new GrammarMatcher(Schema("""{"type": "number", "exclusiveMinimum": 0, "maximum": 2}"""), Bytes, ByteEnds);

        AcceptBytes(matcher, text);

        Assert.Equal(complete, matcher.IsComplete);
    }

    [Fact]
    public void A_bounded_number_cannot_pass_its_upper_bound()
    {
        var matcher = new GrammarMatcher(Schema("""{"type": "number", "minimum": -1, "maximum": 2}"""), Bytes, ByteEnds);

        Assert.Equal("-012", AllowedBytes(matcher));
        AcceptBytes(matcher, "2.");
        Assert.Equal("0", AllowedBytes(matcher));
        AcceptBytes(matcher, "0");
        matcher = new GrammarMatcher(Schema("""{"type": "number", "minimum": -1, "maximum": 2}"""), Bytes, ByteEnds);
        AcceptBytes(matcher, "-1");
        Assert.Equal(".", AllowedBytes(matcher));
    }

    [Fact]
    public void Keywords_without_a_type_produce_a_value_of_the_kind_they_constrain()
    {
        // {"minimum": 0} allows any string, but would refuse -5: generating a non-negative number keeps the promise.
        var matcher = new GrammarMatcher(Schema("""{"minimum": 0, "description": "no type"}"""), Bytes, ByteEnds);

        Assert.Equal("0123456789", AllowedBytes(matcher));
    }

    [Fact]
    public void At_most_one_space_is_allowed_between_tokens()
    {
        var matcher = new GrammarMatcher(Grammar.AnyJsonObject(), Bytes, ByteEnds);

        AcceptBytes(matcher, "{\"a\":");
        Assert.Contains((int)' ', RandomGeneration.Allowed(matcher, Bytes));
        AcceptBytes(matcher, " ");

        Assert.DoesNotContain((int)' ', RandomGeneration.Allowed(matcher, Bytes));
        Assert.DoesNotContain((int)'\n', RandomGeneration.Allowed(matcher, Bytes));
    }

    [Fact]
    public void A_multi_byte_character_split_across_tokens_must_be_completed_before_the_string_closes()
    {
        var matcher = new GrammarMatcher(Schema("""{"type": "string"}"""), Bytes, ByteEnds);
        var chinese = Encoding.UTF8.GetBytes("中");

        AcceptBytes(matcher, "\"");
        Assert.True(matcher.Accept(chinese[0]));

        var allowed = RandomGeneration.Allowed(matcher, Bytes);
        Assert.Equal(Enumerable.Range(0x80, 0x40), allowed);
        Assert.True(matcher.Accept(chinese[1]));
        Assert.False(matcher.Accept('"'));
        Assert.True(matcher.Accept(chinese[2]));
        Assert.True(matcher.Accept('"'));
        Assert.True(matcher.IsComplete);
    }

    [Fact]
    public void Strings_allow_escapes_but_no_raw_control_bytes_or_invalid_utf8()
    {
        var matcher = new GrammarMatcher(Schema("""{"type": "string"}"""), Bytes, ByteEnds);

        AcceptBytes(matcher, "\"");
        var allowed = RandomGeneration.Allowed(matcher, Bytes);

        Assert.DoesNotContain(allowed, b => b < 0x20 || b is 0xC0 or 0xC1 or > 0xF4 || b is >= 0x80 and < 0xC2);
        AcceptBytes(matcher, "\\");
        Assert.Equal("\"/\\bfnrtu", AllowedBytes(matcher));
        AcceptBytes(matcher, "u00");
        AcceptBytes(matcher, "e9\"");
        Assert.True(matcher.IsComplete);
    }

    [Fact]
    public void String_length_bounds_count_characters_not_bytes()
    {
        var grammar = Schema("""{"type": "string", "minLength": 2, "maxLength": 3}""");
        var matcher = new GrammarMatcher(grammar, Bytes, ByteEnds);

        AcceptBytes(matcher, "\"é");
        Assert.DoesNotContain((int)'"', RandomGeneration.Allowed(matcher, Bytes));
        AcceptBytes(matcher, "\\n");
        Assert.Contains((int)'"', RandomGeneration.Allowed(matcher, Bytes));
        AcceptBytes(matcher, "中");

        Assert.Equal("\"", AllowedBytes(matcher));
    }

    [Fact]
    public void Tokens_that_close_a_string_are_allowed_only_where_the_caller_can_continue()
    {
        // Inside the value of "a", a token '",' is fine (another property follows) but '"}' is not: "b" is required.
        var grammar = Schema("""{"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "integer"}}, "required": ["a", "b"]}""");
        var vocabulary = TokenVocabulary.Build([.. Enumerable.Range(0, 256).Select(b => new[] { (byte)b }), "\","u8.ToArray(), "\"}"u8.ToArray(), "x\", \"b\": 7}"u8.ToArray()]);
        var matcher = new GrammarMatcher(grammar, vocabulary, []);

        AcceptBytes(matcher, "{\"a\": \"hi");
        var allowed = RandomGeneration.Allowed(matcher, vocabulary);

        Assert.Contains(256, allowed);
        Assert.DoesNotContain(257, allowed);
        Assert.Contains(258, allowed);
        Assert.True(matcher.Accept(258));
        Assert.True(matcher.IsComplete);
    }

    [Fact]
    public void A_refused_token_leaves_the_matcher_as_it_was()
    {
        var matcher = new GrammarMatcher(Grammar.AnyJsonObject(), Small, SmallSource.EndTokens);
        foreach (var token in SmallSource.Encode("{\"key\": [1, \"tw"))
        {
            Assert.True(matcher.Accept(token));
        }

        var before = RandomGeneration.Allowed(matcher, Small);
        var refused = Enumerable.Range(0, Small.Size).First(id => !before.Contains(id) && Small.Bytes(id).Length > 0);

        Assert.False(matcher.Accept(refused));
        Assert.Equal(before, RandomGeneration.Allowed(matcher, Small));
    }

    [Fact]
    public void Special_tokens_are_never_allowed_inside_a_constraint()
    {
        var specials = Enumerable.Range(0, Small.Size).Where(id => Small.Bytes(id).Length == 0).ToHashSet();
        var random = new Random(9);

        RandomGeneration.Run(Grammar.AnyJsonObject(), Small, SmallSource.EndTokens, random, eachStep: (matcher, mask) =>
        {
            var allowed = new List<int>();
            RandomGeneration.Allowed(mask, allowed);
            Assert.All(allowed.Where(specials.Contains), id => Assert.True(matcher.IsComplete && SmallSource.EndTokens.Contains(id)));
        });
    }

    [Fact]
    public void Json_object_mode_starts_with_an_object_and_nothing_else()
    {
        var matcher = new GrammarMatcher(Grammar.AnyJsonObject(), Small, SmallSource.EndTokens);

        var allowed = RandomGeneration.Allowed(matcher, Small);

        Assert.NotEmpty(allowed);
        Assert.All(allowed, id => Assert.Equal((byte)'{', Small.Bytes(id)[0]));
        Assert.Contains(SmallSource.Encode("{\"")[0], allowed);
    }

    [Fact]
    public void The_mask_must_be_as_long_as_the_vocabulary_needs()
    {
        var matcher = new GrammarMatcher(Grammar.AnyJsonObject(), Small, SmallSource.EndTokens);

        Assert.Throws<ArgumentException>(() => matcher.FillMask(new ulong[Small.MaskWords - 1]));
    }

    internal static Grammar Schema(string json)
    {
        using var document = JsonDocument.Parse(json);
        return Grammar.ForJsonSchema(document.RootElement);
    }

    private static void AcceptBytes(GrammarMatcher matcher, string text)
    {
        foreach (var b in Encoding.UTF8.GetBytes(text))
        {
            Assert.True(matcher.Accept(b), $"byte '{(char)b}' refused");
        }
    }

    /// <summary>The allowed byte values (byte vocabulary) as a string of chars in byte order; end tokens (256, 257)
    /// appear as U+0100 and U+0101 when included.</summary>
    private static string AllowedBytes(GrammarMatcher matcher, bool includeEnds = false) =>
        string.Concat(RandomGeneration.Allowed(matcher, Bytes).Where(id => includeEnds || id < 256).Select(id => (char)id));

    /// <summary>Every complete output of at most <paramref name="maxLength"/> bytes, in ordinal order.</summary>
    private static List<string> Spellings(Grammar grammar, int maxLength)
    {
        var results = new List<string>();
        void Extend(List<byte> prefix)
        {
            var matcher = new GrammarMatcher(grammar, Bytes, ByteEnds);
            foreach (var b in prefix)
            {
                Assert.True(matcher.Accept(b));
            }

            foreach (var id in RandomGeneration.Allowed(matcher, Bytes))
            {
                if (id >= 256)
                {
                    if (id == 256)
                    {
                        results.Add(Encoding.UTF8.GetString([.. prefix]));
                    }
                }
                else if (prefix.Count < maxLength)
                {
                    Extend([.. prefix, (byte)id]);
                }
            }
        }

        Extend([]);
        return [.. results.Order(StringComparer.Ordinal)];
    }
}
