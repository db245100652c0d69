using System.Collections.Concurrent;
using Lanes.Inference.Engine.Torch.Constraints;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// The grammar a request's output must follow: a tool-call envelope when a call is required (any offered tool, or
/// the named one), else the response format's JSON. Agents resend the same tools every turn, so compiled grammars
/// are kept by their source text (bounded: cleared when full rather than grown without limit). A new grammar's
/// masks are all computed here, on the request's thread, so the decoding loop never stalls on them.
/// </summary>
public sealed class GrammarCache(TokenVocabulary vocabulary)
{
    private const int MaxEntries = 512;
    private readonly ConcurrentDictionary<string, Grammar> _compiled = new(StringComparer.Ordinal);

    /// <exception cref="EngineRequestInvalid">A schema the grammar compiler cannot honour, naming where it is.</exception>
    public Grammar? For(ChatRequest request, ChatFormat format)
    {
        if (request.RequiresToolCall)
        {
            var tools = request.ToolChoice.Mode == ToolChoiceMode.Named ? request.Tools.Where(t => t.Name == request.ToolChoice.Name).ToList() : request.Tools;
            var envelopes = new List<Grammar>();
            foreach (var tool in tools)
            {
                // The parameters compile as a schema of their own, so their "$ref"s resolve against themselves.
                var param = $"tools[{IndexOf(request.Tools, tool)}].function.parameters";
                var key = $"{format}\u0000{tool.Name}\u0000{tool.Parameters.GetRawText()}";
                envelopes.Add(Compile(key, param, () => format switch
                {
                    ChatFormat.Llama3 => Grammar.ToolCall(tool.Name, tool.Parameters, "parameters"),
                    ChatFormat.Mistral => Grammar.ToolCall(tool.Name, tool.Parameters),
                    _ => Grammar.Sequence(ToolFormat.CallOpen, Grammar.ToolCall(tool.Name, tool.Parameters), ToolFormat.CallClose),
                }));
            }

            var call = envelopes.Count == 1 ? envelopes[0] : Grammar.OneOf(envelopes);
            return format == ChatFormat.Mistral ? Grammar.Sequence(ToolFormat.MistralCalls + " [", call, "]") : call;
        }

        return request.Format.Kind switch
        {
            OutputFormatKind.JsonObject => Compile("json_object", "response_format", Grammar.AnyJsonObject),
            OutputFormatKind.JsonSchema => Compile(request.Format.Schema!.Value.GetRawText(), "response_format.json_schema.schema", () => Grammar.ForJsonSchema(request.Format.Schema!.Value)),
            _ => null,
        };
    }

    /// <summary>
    /// For <c>tool_choice: "auto"</c> with tools: the grammar of a call's body once the model has written the call
    /// marker itself (ChatML and Mistral; a Llama 3 call has no marker, so it is read back unconstrained).
    /// </summary>
    public Grammar? CallBodyFor(ChatRequest request, ChatFormat format)
    {
        if (request.Tools.Count == 0 || request.ToolChoice.Mode != ToolChoiceMode.Auto || format == ChatFormat.Llama3)
        {
            return null;
        }

        var calls = new List<Grammar>();
        try
        {
            for (var i = 0; i < request.Tools.Count; i++)
            {
                var tool = request.Tools[i];
                calls.Add(Compile($"{format}\u0000call\u0000{tool.Name}\u0000{tool.Parameters.GetRawText()}", $"tools[{i}].function.parameters",
                    () => Grammar.ToolCall(tool.Name, tool.Parameters)));
            }
        }
        catch (EngineRequestInvalid)
        {
            // A schema the grammar cannot enforce does not stop an optional call: it is read back unconstrained.
            return null;
        }

        var call = calls.Count == 1 ? calls[0] : Grammar.OneOf(calls);
        var key = $"{format}\u0000body\u0000{string.Join('\u0000', request.Tools.Select(t => t.Name + t.Parameters.GetRawText()))}";
        return Compile(key, "tools", () => format == ChatFormat.Mistral
            ? Grammar.Sequence(" [", call, "]")
            : Grammar.Sequence("\n", call, ToolFormat.CallClose));
    }

    private Grammar Compile(string key, string param, Func<Grammar> compile)
    {
        if (_compiled.TryGetValue(key, out var grammar))
        {
            return grammar;
        }

        try
        {
            grammar = compile();
        }
        catch (UnsupportedSchema e)
        {
            throw new EngineRequestInvalid($"The schema cannot be enforced by this engine: {e.Message}", e.Path.Length > 0 ? $"{param}.{e.Path}" : param, "unsupported_schema");
        }

        grammar.Prepare(vocabulary);
        if (_compiled.Count >= MaxEntries)
        {
            _compiled.Clear();
        }

        _compiled[key] = grammar;
        return grammar;
    }

    private static int IndexOf(IReadOnlyList<ToolDefinition> tools, ToolDefinition tool)
    {
        for (var i = 0; i < tools.Count; i++)
        {
            if (ReferenceEquals(tools[i], tool))
            {
                return i;
            }
        }

        return 0;
    }
}
