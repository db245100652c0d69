using System.Text;
using System.Text.Json;

namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// A compiled constraint on generated text: JSON values (any object, or a JSON Schema), optionally wrapped in
/// literal text (a tool-call envelope), or a choice of such. Immutable and thread-safe; compile once per distinct
/// schema and share it. Token masks are computed per vocabulary on first use and cached with the grammar's rules
/// (<see cref="Prepare"/> computes them up front).
/// </summary>
public sealed class Grammar
{
    private static readonly Grammar AnyObject = new(JsonRules.AnyObject);

    private Grammar(Rule root) => Root = root;

    internal Rule Root { get; }

    internal RestCache Rests { get; } = new();

    /// <summary>response_format json_object: any JSON object.</summary>
    public static Grammar AnyJsonObject() => AnyObject;

    /// <summary>response_format json_schema, or a tool's parameters: one JSON value valid against
    /// <paramref name="schema"/>.</summary>
    /// <exception cref="UnsupportedSchema">The schema uses something this compiler cannot guarantee.</exception>
    public static Grammar ForJsonSchema(JsonElement schema) => new(JsonSchemaCompiler.Compile(schema));

    /// <summary>Literal <paramref name="prefix"/>, then one value of <paramref name="body"/>, then literal
    /// <paramref name="suffix"/>; e.g. the Hermes tool call <c>"&lt;tool_call&gt;\n" + {...} + "\n&lt;/tool_call&gt;"</c>.</summary>
    public static Grammar Sequence(string prefix, Grammar body, string suffix)
    {
        ArgumentNullException.ThrowIfNull(body);
        var b = new RuleBuilder();
        b.Empty(b.Literal(b.CallFrom(b.Literal(b.Start, Encoding.UTF8.GetBytes(prefix)), body.Root), Encoding.UTF8.GetBytes(suffix)), b.Accept);
        return new(b.Build($"{Quote(prefix)} {body.Root.Name} {Quote(suffix)}"));
    }

    /// <summary>Any one of <paramref name="alternatives"/> (tool_choice "required" with several tools).</summary>
    public static Grammar OneOf(IReadOnlyList<Grammar> alternatives)
    {
        ArgumentNullException.ThrowIfNull(alternatives);
        if (alternatives.Count == 0)
        {
            throw new ArgumentException("At least one alternative is needed.", nameof(alternatives));
        }

        if (alternatives.Count == 1)
        {
            return alternatives[0];
        }

        var b = new RuleBuilder();
        foreach (var alternative in alternatives)
        {
            b.Call(b.Start, alternative.Root, b.Accept);
        }

        return new(b.Build($"one of {alternatives.Count}"));
    }

    /// <summary>One call of a tool as JSON: <c>{"name": "...", "arguments": {...}}</c>, the name first (so a stream
    /// can name the call before its arguments are done), the arguments valid against <paramref name="parameters"/>.
    /// The parameters are compiled as a schema of their own, so their <c>$ref</c>s (<c>#/$defs/...</c>) resolve
    /// within them; <see cref="UnsupportedSchema.Path"/> is relative to them too.</summary>
    /// <param name="argumentsKey">"arguments" (Hermes, Qwen), or "parameters" (Llama 3).</param>
    /// <exception cref="UnsupportedSchema">The parameters use something this compiler cannot guarantee.</exception>
    public static Grammar ToolCall(string name, JsonElement parameters, string argumentsKey = "arguments")
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(argumentsKey);
        return new(JsonSchemaCompiler.ObjectOf(new Rule($"call {name}"),
        [
            ("name", JsonRules.Literals(new Rule($"name {name}"), [JsonSchemaCompiler.Encode(name)]), true),
            (argumentsKey, JsonSchemaCompiler.Compile(parameters), true),
        ]));
    }

    /// <summary>The Hermes tool-call envelope (Qwen 2.5, Hermes): <c>&lt;tool_call&gt;\n{"name": "...",
    /// "arguments": {...}}\n&lt;/tool_call&gt;</c>, with the arguments valid against <paramref name="parameters"/>.</summary>
    public static Grammar HermesToolCall(string name, JsonElement parameters) =>
        Sequence("<tool_call>\n", ToolCall(name, parameters), "\n</tool_call>");

    /// <summary>Computes every token mask of this grammar for <paramref name="vocabulary"/> now (off the decoding
    /// loop), rather than on the first decoding step that needs each one.</summary>
    public void Prepare(TokenVocabulary vocabulary)
    {
        foreach (var rule in Rules())
        {
            for (var node = 0; node < rule.Nodes.Length; node++)
            {
                rule.MaskAt(node, vocabulary);
            }
        }
    }

    /// <summary>Every rule reachable from the root.</summary>
    internal IEnumerable<Rule> Rules()
    {
        var seen = new HashSet<Rule> { Root };
        var pending = new Stack<Rule>([Root]);
        while (pending.TryPop(out var rule))
        {
            yield return rule;
            foreach (var call in rule.Nodes.SelectMany(n => n.Calls))
            {
                if (seen.Add(call.Rule))
                {
                    pending.Push(call.Rule);
                }
            }
        }
    }

    public override string ToString() => Root.Name;

    private static string Quote(string text) => JsonSerializer.Serialize(text);
}
