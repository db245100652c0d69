using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// Compiles a JSON Schema (the subset OpenAI structured outputs and tool parameters use) into rules. Every keyword
/// is either honoured, ignored because it only annotates (title, description, default...), or refused with
/// <see cref="UnsupportedSchema"/>: a constraint is a promise that the output validates, so nothing that would
/// change validity is silently dropped. The output is one spelling of each valid value where JSON allows several:
/// declared property order, no extra properties, compact numbers and at most single spaces.
/// </summary>
internal sealed class JsonSchemaCompiler
{
    private const int MaxDepth = 64, MaxItemsBound = 1024;

    private static readonly HashSet<string> Annotations =
    [
        "title", "description", "default", "examples", "$comment", "$schema", "deprecated", "readOnly", "writeOnly",
        "$defs", "definitions", "contentEncoding", "contentMediaType", "$anchor",
    ];

    private static readonly HashSet<string> Honoured =
    [
        "type", "enum", "const", "anyOf", "oneOf", "allOf", "$ref", "properties", "required", "additionalProperties",
        "unevaluatedProperties", "items", "minItems", "maxItems", "uniqueItems", "minLength", "maxLength",
        "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    ];

    private static readonly string[] ObjectKeywords = ["properties", "required", "additionalProperties", "unevaluatedProperties"];
    private static readonly string[] ArrayKeywords = ["items", "minItems", "maxItems", "uniqueItems"];
    private static readonly string[] StringKeywords = ["minLength", "maxLength"];
    private static readonly string[] NumberKeywords = ["minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"];
    private static readonly string[] TypeNames = ["string", "number", "integer", "boolean", "null", "object", "array"];

    private static readonly JsonWriterOptions Compact = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };
    private static readonly JsonSerializerOptions CompactSerializer = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly JsonElement _root;
    private readonly Dictionary<string, Rule> _refs = new(StringComparer.Ordinal);
    private readonly Dictionary<Rule, string> _paths = [];
    private int _depth;

    private JsonSchemaCompiler(JsonElement root) => _root = root;

    public static Rule Compile(JsonElement schema)
    {
        var compiler = new JsonSchemaCompiler(schema);
        try
        {
            var root = compiler.Reference("#", "");
            compiler.CheckFinite(root);
            return root;
        }
        catch (GrammarTooLarge e)
        {
            throw new UnsupportedSchema(e.Message, "");
        }
    }

    /// <summary>The bytes of <paramref name="text"/> as a JSON string literal.</summary>
    public static byte[] Encode(string text) => JsonSerializer.SerializeToUtf8Bytes(text, CompactSerializer);

    /// <summary>An object with the given properties in this order, the optional ones possibly omitted.</summary>
    public static Rule ObjectOf(Rule rule, IReadOnlyList<(string Key, Rule Value, bool Required)> properties)
    {
        var b = new RuleBuilder();
        var n = properties.Count;
        // at[i, 1]: before property i with nothing written yet; at[i, 0]: before property i after some property.
        var at = new int[n + 1, 2];
        for (var i = 0; i <= n; i++)
        {
            at[i, 0] = b.State();
            at[i, 1] = b.State();
        }

        b.Empty(b.Space(b.Literal(b.Start, "{")), at[0, 1]);
        for (var i = 0; i < n; i++)
        {
            var (key, value, required) = properties[i];
            for (var first = 0; first <= 1; first++)
            {
                var from = first == 1 ? at[i, 1] : b.Space(b.Literal(at[i, 0], ","));
                b.Empty(b.CallFrom(b.Space(b.Literal(b.Literal(from, Encode(key)), ":")), value), at[i + 1, 0]);
                if (!required)
                {
                    b.Empty(at[i, first], at[i + 1, first]);
                }
            }
        }

        b.Byte(at[n, 1], '}', b.Accept);
        b.Byte(b.Space(at[n, 0]), '}', b.Accept);
        return b.Define(rule);
    }

    private Rule Compile(JsonElement schema, string path, Rule? into)
    {
        // Note: a bound on recursion over the schema's own nesting, so a hostile schema cannot overflow the stack.
        if (++_depth > MaxDepth)
        {
            throw new UnsupportedSchema($"The schema nests deeper than {MaxDepth} levels.", path);
        }

        try
        {
            return CompileNested(schema, path, into);
        }
        finally
        {
            _depth--;
        }
    }

    private Rule CompileNested(JsonElement schema, string path, Rule? into)
    {
        switch (schema.ValueKind)
        {
            case JsonValueKind.True:
                return Alias(into, JsonRules.AnyValue);
            case JsonValueKind.False:
                throw new UnsupportedSchema("The schema 'false' allows no value.", path);
            case JsonValueKind.Object:
                break;
            default:
                throw new UnsupportedSchema("A schema must be an object or a boolean.", path);
        }

        var assertions = new List<string>();
        foreach (var keyword in schema.EnumerateObject())
        {
            var name = keyword.Name;
            if (name == "$id" && path.Length > 0)
            {
                throw new UnsupportedSchema("'$id' below the root is not supported (it changes how $ref resolves).", Join(path, name));
            }

            if (Annotations.Contains(name) || name == "$id" || name.StartsWith("x-", StringComparison.Ordinal))
            {
                continue;
            }

            if (!Honoured.Contains(name))
            {
                throw new UnsupportedSchema($"The JSON Schema keyword '{name}' is not supported.", Join(path, name));
            }

            assertions.Add(name);
        }

        foreach (var applicator in new[] { "$ref", "allOf", "anyOf", "oneOf" })
        {
            if (assertions.Contains(applicator) && assertions.FirstOrDefault(a => a != applicator) is { } other)
            {
                throw new UnsupportedSchema($"'{other}' beside '{applicator}' is not supported; move it into the referenced or alternative schemas.", Join(path, other));
            }
        }

        if (schema.TryGetProperty("$ref", out var reference))
        {
            return Alias(into, Reference(reference.ValueKind == JsonValueKind.String ? reference.GetString()! : "", Join(path, "$ref")));
        }

        if (schema.TryGetProperty("allOf", out var all))
        {
            if (all.ValueKind != JsonValueKind.Array || all.GetArrayLength() != 1)
            {
                throw new UnsupportedSchema("'allOf' is supported with exactly one schema only.", Join(path, "allOf"));
            }

            return Compile(all[0], Join(path, "allOf.0"), into);
        }

        foreach (var keyword in new[] { "anyOf", "oneOf" })
        {
            if (schema.TryGetProperty(keyword, out var alternatives))
            {
                // Note: oneOf is compiled as anyOf. The output then validates against oneOf only when the
                // alternatives cannot both match a value (distinct types, consts, required keys), which is how
                // oneOf is used in practice.
                return Alternatives(alternatives, Join(path, keyword), into);
            }
        }

        var types = Types(schema, path);
        if (schema.TryGetProperty("enum", out _) || schema.TryGetProperty("const", out _))
        {
            if (assertions.FirstOrDefault(a => a is not ("enum" or "const" or "type")) is { } other)
            {
                throw new UnsupportedSchema($"'{other}' beside 'enum' or 'const' is not supported.", Join(path, other));
            }

            return CompileEnum(schema, types, path, into, NewRule);
        }

        if (types is null)
        {
            // Without 'type', keywords constrain only values of their kind; producing that kind satisfies them.
            types = ObjectKeywords.Any(k => schema.TryGetProperty(k, out _)) ? ["object"]
                : ArrayKeywords.Any(k => schema.TryGetProperty(k, out _)) ? ["array"]
                : StringKeywords.Any(k => schema.TryGetProperty(k, out _)) ? ["string"]
                : NumberKeywords.Any(k => schema.TryGetProperty(k, out _)) ? ["number"]
                : null;
            if (types is null)
            {
                return Alias(into, JsonRules.AnyValue);
            }
        }

        if (types.Count == 1)
        {
            return Typed(schema, types[0], path, into);
        }

        var b = new RuleBuilder();
        foreach (var type in types)
        {
            b.Call(b.Start, Typed(schema, type, path, null), b.Accept);
        }

        return b.Define(into ?? NewRule(path));
    }

    private Rule Typed(JsonElement schema, string type, string path, Rule? into) => type switch
    {
        "string" => Alias(into, CompileString(schema, path)),
        "number" => Alias(into, CompileNumber(schema, path, integer: false)),
        "integer" => Alias(into, CompileNumber(schema, path, integer: true)),
        "boolean" => Alias(into, JsonRules.Boolean),
        "null" => Alias(into, JsonRules.Null),
        "object" => CompileObject(schema, path, into),
        _ => CompileArray(schema, path, into),
    };

    private static Rule CompileString(JsonElement schema, string path)
    {
        var min = Count(schema, "minLength", path) ?? 0;
        var max = Count(schema, "maxLength", path);
        if (max < min)
        {
            throw new UnsupportedSchema("'maxLength' is below 'minLength': no string fits.", Join(path, "maxLength"));
        }

        if (max > JsonStrings.MaxLengthBound || min > JsonStrings.MaxLengthBound)
        {
            throw new UnsupportedSchema($"String length bounds above {JsonStrings.MaxLengthBound} are not supported.", Join(path, max > JsonStrings.MaxLengthBound ? "maxLength" : "minLength"));
        }

        return JsonStrings.Length(min, max);
    }

    private static Rule CompileNumber(JsonElement schema, string path, bool integer)
    {
        var lower = Stricter(Limit(schema, "minimum", path, integer, exclusive: false), Limit(schema, "exclusiveMinimum", path, integer, exclusive: true), lower: true);
        var upper = Stricter(Limit(schema, "maximum", path, integer, exclusive: false), Limit(schema, "exclusiveMaximum", path, integer, exclusive: true), lower: false);
        if (lower is null && upper is null)
        {
            return integer ? JsonRules.Integer : JsonRules.Number;
        }

        return JsonNumbers.Within(path.Length == 0 ? "#" : path, integer, lower, upper)
            ?? throw new UnsupportedSchema($"No {(integer ? "integer" : "number")} of at most {JsonRules.MaxIntegerDigits} digits fits the bounds.", Join(path, lower is null ? "maximum" : "minimum"));
    }

    private static JsonNumbers.Bound? Limit(JsonElement schema, string keyword, string path, bool integer, bool exclusive)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number)
        {
            throw new UnsupportedSchema($"'{keyword}' must be a number (the draft-4 boolean form is not supported).", Join(path, keyword));
        }

        // Beyond 16 digits a bound no longer constrains what can be written (at most 15 integer digits).
        var bound = value.TryGetDecimal(out var d) && decimal.Abs(d) < 1e16m ? d : value.GetDouble() > 0 ? 1e16m : -1e16m;
        if (!integer && bound != decimal.Truncate(bound))
        {
            throw new UnsupportedSchema($"Only whole-number bounds are supported on numbers ('{keyword}' is {value.GetRawText()}).", Join(path, keyword));
        }

        return new JsonNumbers.Bound(bound, exclusive);
    }

    private static JsonNumbers.Bound? Stricter(JsonNumbers.Bound? a, JsonNumbers.Bound? b, bool lower)
    {
        if (a is not { } x || b is not { } y)
        {
            return a ?? b;
        }

        if (x.Value != y.Value)
        {
            return (x.Value > y.Value) == lower ? x : y;
        }

        return x.Exclusive ? x : y;
    }

    private Rule CompileObject(JsonElement schema, string path, Rule? into)
    {
        var additional = schema.TryGetProperty("additionalProperties", out var a) ? a
            // With no other applicator in the same schema, unevaluatedProperties means what additionalProperties does.
            : schema.TryGetProperty("unevaluatedProperties", out var u) ? u
            : (JsonElement?)null;
        var additionalPath = Join(path, schema.TryGetProperty("additionalProperties", out _) ? "additionalProperties" : "unevaluatedProperties");
        var closed = additional?.ValueKind == JsonValueKind.False;
        var required = new List<string>();
        if (schema.TryGetProperty("required", out var names))
        {
            if (names.ValueKind != JsonValueKind.Array || names.EnumerateArray().Any(n => n.ValueKind != JsonValueKind.String))
            {
                throw new UnsupportedSchema("'required' must be an array of strings.", Join(path, "required"));
            }

            required.AddRange(names.EnumerateArray().Select(n => n.GetString()!).Distinct());
        }

        var declared = new List<(string Key, JsonElement Schema)>();
        if (schema.TryGetProperty("properties", out var properties))
        {
            if (properties.ValueKind != JsonValueKind.Object)
            {
                throw new UnsupportedSchema("'properties' must be an object.", Join(path, "properties"));
            }

            declared.AddRange(properties.EnumerateObject().Select(p => (p.Name, p.Value)));
        }

        if (declared.Count == 0 && required.Count == 0)
        {
            if (closed)
            {
                return JsonRules.Literals(into ?? NewRule(path), [.. new[] { "{}", "{ }" }.Select(System.Text.Encoding.UTF8.GetBytes)]);
            }

            var value = additional is { } schemaOfValues ? Compile(schemaOfValues, additionalPath, null) : JsonRules.AnyValue;
            return value == JsonRules.AnyValue ? Alias(into, JsonRules.AnyObject) : JsonRules.Map(into ?? NewRule(path), value);
        }

        var list = new List<(string, Rule, bool)>();
        foreach (var (key, propertySchema) in declared)
        {
            var propertyPath = Join(path, "properties." + key);
            var isRequired = required.Contains(key);
            if (propertySchema.ValueKind == JsonValueKind.False)
            {
                // Only absence satisfies a 'false' property schema.
                if (isRequired)
                {
                    throw new UnsupportedSchema($"Property '{key}' is required but its schema is 'false'.", propertyPath);
                }

                continue;
            }

            list.Add((key, Compile(propertySchema, propertyPath, null), isRequired));
        }

        foreach (var key in required.Where(r => declared.All(d => d.Key != r)))
        {
            if (closed)
            {
                throw new UnsupportedSchema($"Property '{key}' is required but not in 'properties' and additional properties are not allowed.", Join(path, "required"));
            }

            list.Add((key, additional is { } s ? Compile(s, additionalPath, null) : JsonRules.AnyValue, true));
        }

        // Extra properties are allowed unless additionalProperties is false; never producing any satisfies both.
        return ObjectOf(into ?? NewRule(path), list);
    }

    private Rule CompileArray(JsonElement schema, string path, Rule? into)
    {
        var min = Count(schema, "minItems", path) ?? 0;
        var max = Count(schema, "maxItems", path);
        var item = JsonRules.AnyValue;
        if (schema.TryGetProperty("items", out var items))
        {
            switch (items.ValueKind)
            {
                case JsonValueKind.False:
                    max = 0;
                    break;
                case JsonValueKind.Array:
                    throw new UnsupportedSchema("'items' as an array of schemas (a tuple) is not supported.", Join(path, "items"));
                default:
                    item = Compile(items, Join(path, "items"), null);
                    break;
            }
        }

        if (max < min)
        {
            throw new UnsupportedSchema("No array fits the item count bounds (or 'items' is false with 'minItems').", Join(path, "minItems"));
        }

        if (min > MaxItemsBound || max > MaxItemsBound)
        {
            throw new UnsupportedSchema($"Item count bounds above {MaxItemsBound} are not supported.", Join(path, max > MaxItemsBound ? "maxItems" : "minItems"));
        }

        if (schema.TryGetProperty("uniqueItems", out var unique) && unique.ValueKind == JsonValueKind.True && max is not (0 or 1))
        {
            throw new UnsupportedSchema("'uniqueItems' is not supported.", Join(path, "uniqueItems"));
        }

        return min == 0 && max is null && item == JsonRules.AnyValue ? Alias(into, JsonRules.AnyArray) : JsonRules.List(into ?? NewRule(path), item, min, max);
    }

    private static Rule CompileEnum(JsonElement schema, List<string>? types, string path, Rule? into, Func<string, Rule> newRule)
    {
        var keyword = schema.TryGetProperty("const", out var constant) ? "const" : "enum";
        var values = keyword == "const" ? [constant] : schema.GetProperty("enum") is { ValueKind: JsonValueKind.Array } list
            ? list.EnumerateArray().ToList()
            : throw new UnsupportedSchema("'enum' must be an array.", Join(path, "enum"));
        var literals = values
            .Where(v => types is null || types.Any(t => IsOfType(v, t)))
            .Select(Serialize)
            .DistinctBy(Convert.ToBase64String)
            .ToList();
        if (literals.Count == 0)
        {
            throw new UnsupportedSchema($"No '{keyword}' value is of the declared type.", Join(path, keyword));
        }

        return JsonRules.Literals(into ?? newRule(path), literals);
    }

    private Rule Alternatives(JsonElement alternatives, string path, Rule? into)
    {
        if (alternatives.ValueKind != JsonValueKind.Array || alternatives.GetArrayLength() == 0)
        {
            throw new UnsupportedSchema("Expected a non-empty array of schemas.", path);
        }

        if (alternatives.GetArrayLength() == 1)
        {
            return Compile(alternatives[0], Join(path, "0"), into);
        }

        var b = new RuleBuilder();
        var i = 0;
        foreach (var alternative in alternatives.EnumerateArray())
        {
            var alternativePath = Join(path, (i++).ToString(CultureInfo.InvariantCulture));
            // A 'false' alternative allows nothing: leave it out.
            if (alternative.ValueKind != JsonValueKind.False)
            {
                b.Call(b.Start, Compile(alternative, alternativePath, null), b.Accept);
            }
        }

        return b.Define(into ?? NewRule(path));
    }

    /// <summary>The rule for a local reference, compiled once per target so that recursive schemas become
    /// recursive rules.</summary>
    private Rule Reference(string reference, string path)
    {
        if (!reference.StartsWith('#'))
        {
            throw new UnsupportedSchema($"Only local references ('#/$defs/...') are supported, not '{reference}'.", path);
        }

        var pointer = Uri.UnescapeDataString(reference[1..]);
        if (pointer.Length > 0 && !pointer.StartsWith('/'))
        {
            throw new UnsupportedSchema($"References to anchors ('{reference}') are not supported.", path);
        }

        if (_refs.TryGetValue(pointer, out var known))
        {
            return known;
        }

        var target = _root;
        var segments = pointer.Length == 0 ? [] : pointer[1..].Split('/').Select(s => s.Replace("~1", "/").Replace("~0", "~")).ToArray();
        foreach (var segment in segments)
        {
            target = target.ValueKind switch
            {
                JsonValueKind.Object when target.TryGetProperty(segment, out var child) => child,
                JsonValueKind.Array when int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < target.GetArrayLength() => target[index],
                _ => throw new UnsupportedSchema($"The reference '{reference}' points at nothing.", path),
            };
        }

        var targetPath = string.Join('.', segments);
        var rule = NewRule(targetPath);
        _refs[pointer] = rule;
        Compile(target, targetPath, rule);
        return rule;
    }

    /// <summary>
    /// Refuses grammars whose generation could not finish: a rule that calls itself before reading anything
    /// (<c>{"anyOf": [{"$ref": "#"}, ...]}</c>), or one with no finite value at all (a required property whose
    /// schema is the object itself).
    /// </summary>
    private void CheckFinite(Rule root)
    {
        var rules = new List<Rule>();
        var seen = new HashSet<Rule> { root };
        var pending = new Stack<Rule>([root]);
        while (pending.TryPop(out var rule))
        {
            rules.Add(rule);
            foreach (var call in rule.Nodes.SelectMany(n => n.Calls))
            {
                if (seen.Add(call.Rule))
                {
                    pending.Push(call.Rule);
                }
            }
        }

        // Left recursion: a cycle among the calls made from start nodes.
        var state = new Dictionary<Rule, int>();
        void Visit(Rule rule)
        {
            state[rule] = 1;
            foreach (var call in rule.Nodes[0].Calls)
            {
                switch (state.GetValueOrDefault(call.Rule))
                {
                    case 1:
                        throw new UnsupportedSchema("The schema refers to itself before any value is written (a $ref cycle through anyOf, allOf or $ref alone).", PathOf(call.Rule));
                    case 0:
                        Visit(call.Rule);
                        break;
                }
            }

            state[rule] = 2;
        }

        Visit(root);

        // Productive rules: those with a path from start to an accepting node over bytes and productive calls.
        var productive = new HashSet<Rule>();
        bool grew;
        do
        {
            grew = false;
            foreach (var rule in rules.Where(r => !productive.Contains(r)))
            {
                var reached = new bool[rule.Nodes.Length];
                var stack = new Stack<int>([0]);
                reached[0] = true;
                while (stack.TryPop(out var node))
                {
                    var at = rule.Nodes[node];
                    if (at.Accepting)
                    {
                        productive.Add(rule);
                        grew = true;
                        break;
                    }

                    foreach (var next in at.Edges.ToArray().Select(e => e.Target).Concat(at.Calls.Where(c => productive.Contains(c.Rule)).Select(c => c.Return)))
                    {
                        if (!reached[next])
                        {
                            reached[next] = true;
                            stack.Push(next);
                        }
                    }
                }
            }
        }
        while (grew);

        if (rules.FirstOrDefault(r => !productive.Contains(r)) is { } endless)
        {
            throw new UnsupportedSchema("No finite value satisfies this schema (it requires itself).", PathOf(endless));
        }
    }

    private string PathOf(Rule rule) => _paths.GetValueOrDefault(rule, rule.Name);

    private Rule NewRule(string path)
    {
        var rule = new Rule(path.Length == 0 ? "#" : path);
        _paths[rule] = path;
        return rule;
    }

    /// <summary><paramref name="target"/> itself, or <paramref name="into"/> defined as a call of it (when the rule
    /// had to exist before its schema was compiled, for recursion).</summary>
    private static Rule Alias(Rule? into, Rule target)
    {
        if (into is null)
        {
            return target;
        }

        var b = new RuleBuilder();
        b.Call(b.Start, target, b.Accept);
        return b.Define(into);
    }

    private static List<string>? Types(JsonElement schema, string path)
    {
        if (!schema.TryGetProperty("type", out var type))
        {
            return null;
        }

        var names = type.ValueKind switch
        {
            JsonValueKind.String => [type.GetString()!],
            JsonValueKind.Array when type.EnumerateArray().All(t => t.ValueKind == JsonValueKind.String) => type.EnumerateArray().Select(t => t.GetString()!).Distinct().ToList(),
            _ => throw new UnsupportedSchema("'type' must be a type name or an array of them.", Join(path, "type")),
        };
        if (names.Count == 0)
        {
            throw new UnsupportedSchema("'type' lists no type.", Join(path, "type"));
        }

        if (names.FirstOrDefault(n => !TypeNames.Contains(n)) is { } unknown)
        {
            throw new UnsupportedSchema($"Unknown type '{unknown}'.", Join(path, "type"));
        }

        // Integers are numbers: when both are listed the number rule covers both.
        if (names.Contains("number"))
        {
            names.Remove("integer");
        }

        return names;
    }

    private static bool IsOfType(JsonElement value, string type) => (type, value.ValueKind) switch
    {
        ("string", JsonValueKind.String) or ("number", JsonValueKind.Number) or ("null", JsonValueKind.Null)
            or ("boolean", JsonValueKind.True or JsonValueKind.False) or ("object", JsonValueKind.Object) or ("array", JsonValueKind.Array) => true,
        ("integer", JsonValueKind.Number) => value.TryGetDecimal(out var d) ? decimal.Truncate(d) == d : Math.Floor(value.GetDouble()) == value.GetDouble(),
        _ => false,
    };

    private static int? Count(JsonElement schema, string keyword, string path)
    {
        if (!schema.TryGetProperty(keyword, out var value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.Number && value.TryGetDecimal(out var d) && d >= 0 && decimal.Truncate(d) == d)
        {
            return d > int.MaxValue ? int.MaxValue : (int)d;
        }

        throw new UnsupportedSchema($"'{keyword}' must be a non-negative integer.", Join(path, keyword));
    }

    private static byte[] Serialize(JsonElement value)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, Compact))
        {
            value.WriteTo(writer);
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static string Join(string path, string keyword) => path.Length == 0 ? keyword : path + "." + keyword;
}
