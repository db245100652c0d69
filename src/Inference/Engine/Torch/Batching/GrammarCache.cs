using System.Collections.Concurrent;
using System.Text.Json;
using Lanes.Inference.Engine.Torch.Constraints;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Engine.Torch.Batching;

/// <summary>
/// The grammar a request's output must follow: a tool-call envelope when a call is required (any offered tool, or
/// the named one), else the response format's JSON. Agents resend the same tools every turn, so compiled grammars
/// are kept by their source text (bounded: cleared when full rather than grown without limit).
/// </summary>
public sealed class GrammarCache
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
                var param = $"tools[{IndexOf(request.Tools, tool)}].function.parameters";
                var body = Compile(CallSchema(tool, format == ChatFormat.Llama3 ? "parameters" : "arguments"), param);
                envelopes.Add(format == ChatFormat.Llama3 ? body : Grammar.Sequence(ToolFormat.CallOpen, body, ToolFormat.CallClose));
            }

            return envelopes.Count == 1 ? envelopes[0] : Grammar.OneOf(envelopes);
        }

        return request.Format.Kind switch
        {
            OutputFormatKind.JsonObject => Grammar.AnyJsonObject(),
            OutputFormatKind.JsonSchema => Compile(request.Format.Schema!.Value.GetRawText(), "response_format.json_schema.schema"),
            _ => null,
        };
    }

    private Grammar Compile(string schema, string param)
    {
        if (_compiled.TryGetValue(schema, out var grammar))
        {
            return grammar;
        }

        try
        {
            using var doc = JsonDocument.Parse(schema);
            grammar = Grammar.ForJsonSchema(doc.RootElement);
        }
        catch (UnsupportedSchema e)
        {
            throw new EngineRequestInvalid($"The schema cannot be enforced by this engine: {e.Message}", e.Path.Length > 0 ? $"{param}.{e.Path}" : param, "unsupported_schema");
        }

        if (_compiled.Count >= MaxEntries)
        {
            _compiled.Clear();
        }

        _compiled[schema] = grammar;
        return grammar;
    }

    /// <summary>The JSON of one call of <paramref name="tool"/>: its name first (so a stream can name the call before
    /// its arguments are done), then its arguments.</summary>
    private static string CallSchema(ToolDefinition tool, string argumentsKey) =>
        $$"""{"type":"object","properties":{"name":{"const":{{JsonSerializer.Serialize(tool.Name)}}},"{{argumentsKey}}":{{tool.Parameters.GetRawText()}}},"required":["name","{{argumentsKey}}"],"additionalProperties":false}""";

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
