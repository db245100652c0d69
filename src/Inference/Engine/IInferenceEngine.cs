namespace Lanes.Inference.Engine;

/// <summary>A model an engine serves, with the context that caps a request's tokens and what it can honour.</summary>
public sealed record EngineModel(string Id, int ContextTokens, string OwnedBy = "lanes", EngineFeatures Features = EngineFeatures.None);

/// <summary>Request features beyond plain text that an engine honours for a model. The gateway refuses a request that
/// needs one the serving engine lacks, naming the parameter, rather than silently ignoring it.</summary>
[Flags]
public enum EngineFeatures
{
    None = 0,

    /// <summary><c>tools</c>, <c>tool_choice</c>, tool calls and tool results in the history.</summary>
    Tools = 1,

    /// <summary><c>response_format</c> <c>json_object</c> and <c>json_schema</c>.</summary>
    StructuredOutputs = 2,

    /// <summary><c>presence_penalty</c>, <c>frequency_penalty</c> and <c>logit_bias</c>.</summary>
    Penalties = 4,

    /// <summary><c>logprobs</c> and <c>top_logprobs</c>.</summary>
    Logprobs = 8,

    /// <summary>Image content parts.</summary>
    Vision = 16,
}

/// <summary>A tool call the assistant made (in the history, or generated): <paramref name="Arguments"/> is JSON text.</summary>
public sealed record ToolCall(string Id, string Name, string Arguments);

/// <summary>
/// One chat message as the engine sees it. An assistant turn may carry <paramref name="ToolCalls"/> (its
/// <paramref name="Content"/> is then often empty); a <c>tool</c> turn answers the call <paramref name="ToolCallId"/>.
/// </summary>
public sealed record ChatTurn(string Role, string Content, IReadOnlyList<ToolCall>? ToolCalls = null, string? ToolCallId = null)
{
    /// <summary>Images in the message (only for models with <see cref="EngineFeatures.Vision"/>); they travel in
    /// the raw request, this only counts them for the prompt estimate.</summary>
    public int Images { get; init; }
}

/// <summary>A function the model may call: <paramref name="Parameters"/> is its JSON Schema (an empty object schema when
/// the client sent none).</summary>
public sealed record ToolDefinition(string Name, string? Description, System.Text.Json.JsonElement Parameters, bool Strict);

public enum ToolChoiceMode
{
    /// <summary>The model decides (the default when tools are given).</summary>
    Auto,

    /// <summary>No tool call: the model answers in text.</summary>
    None,

    /// <summary>At least one tool call.</summary>
    Required,

    /// <summary>A call of the tool <see cref="ToolChoice.Name"/>.</summary>
    Named,
}

public sealed record ToolChoice(ToolChoiceMode Mode, string? Name = null)
{
    public static readonly ToolChoice Auto = new(ToolChoiceMode.Auto);
    public static readonly ToolChoice None = new(ToolChoiceMode.None);
}

public enum OutputFormatKind
{
    Text,
    JsonObject,
    JsonSchema,
}

/// <summary>What shape the answer's text must have (<c>response_format</c>).</summary>
public sealed record OutputFormat(OutputFormatKind Kind, System.Text.Json.JsonElement? Schema = null, string? Name = null, bool Strict = false)
{
    public static readonly OutputFormat Text = new(OutputFormatKind.Text);
}

/// <summary>
/// A chat request as an engine runs it. <paramref name="Raw"/> is the client's own request body, kept so an engine
/// that forwards to another OpenAI-compatible server can pass every field it does not rewrite through intact.
/// </summary>
public sealed record ChatRequest(
    IReadOnlyList<ChatTurn> Messages,
    IReadOnlyList<ToolDefinition> Tools,
    ToolChoice ToolChoice,
    bool ParallelToolCalls,
    OutputFormat Format,
    System.Text.Json.JsonElement? Raw = null)
{
    public static ChatRequest Of(IReadOnlyList<ChatTurn> messages) => new(messages, [], ToolChoice.Auto, true, OutputFormat.Text);

    /// <summary>True when the answer must be a tool call, whatever the model would prefer.</summary>
    public bool RequiresToolCall => Tools.Count > 0 && ToolChoice.Mode is ToolChoiceMode.Required or ToolChoiceMode.Named;
}

/// <summary>An engine cannot honour this request as written (a schema it cannot compile, a tool list too large for
/// the context): a 400 naming <see cref="Param"/>, never a 5xx.</summary>
public sealed class EngineRequestInvalid(string message, string param, string code = "invalid_request") : Exception(message)
{
    public string Param { get; } = param;

    public string Code { get; } = code;
}

/// <summary>A prompt the engine has tokenized, ready to generate from.</summary>
public sealed record EnginePrompt(string Model, int PromptTokens, object State);

/// <summary>How to pick tokens. Null means the engine's default.</summary>
public sealed record Sampling(
    int MaxTokens, double? Temperature = null, double? TopP = null, int? TopK = null, long? Seed = null,
    IReadOnlyList<string>? Stop = null)
{
    /// <summary>Whether the client reads the answer as it is made. Local engines make tokens one by one either way;
    /// an engine that forwards asks for the whole answer at once when the client waits for it whole.</summary>
    public bool Streamed { get; init; } = true;

    /// <summary>Whose prompts this one may share cached work with: the tenant. An engine with a prefix cache reuses
    /// computed prompt prefixes only within the same scope (and never when it is null).</summary>
    public string? CacheScope { get; init; }
}

public enum FinishReason
{
    Stop,
    Length,
    ToolCalls,
    ContentFilter,
}

/// <summary>
/// A piece of a tool call as it is generated, shaped like OpenAI's stream deltas: the first piece of call
/// <paramref name="Index"/> carries its <paramref name="Id"/> and <paramref name="Name"/>, later ones carry pieces of
/// <paramref name="Arguments"/> (JSON text, concatenated in order).
/// </summary>
public readonly record struct ToolCallDelta(int Index, string? Id, string? Name, string? Arguments);

/// <summary>A piece of generated text (never splitting a UTF-8 character) and how many tokens it holds. An engine
/// that learns the prompt's exact size only at the end (an upstream server) reports it in
/// <paramref name="PromptTokens"/> on its last chunk.</summary>
public readonly record struct GeneratedChunk(string Text, int Tokens, FinishReason? Finish, int? PromptTokens = null)
{
    /// <summary>A piece of a tool call in this chunk, if any.</summary>
    public ToolCallDelta? ToolCall { get; init; }

    /// <summary>The upstream's <c>logprobs</c> for this chunk, relayed as it sent them (upstream engines only).</summary>
    public System.Text.Json.JsonElement? Logprobs { get; init; }

    /// <summary>Prompt tokens the engine served from its cache (reported as <c>prompt_tokens_details.cached_tokens</c>).</summary>
    public int? CachedPromptTokens { get; init; }
}

/// <summary>The engine could not serve the request (an upstream server refused or failed).</summary>
public sealed class EngineUnavailable(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// What the gateway needs of an inference backend. The lane scheduler decides which request runs; the engine runs
/// at most <see cref="Slots"/> sequences at once and must stop promptly when a request's token is cancelled.
/// </summary>
public interface IInferenceEngine
{
    IReadOnlyList<EngineModel> Models { get; }

    /// <summary>Sequences the engine runs at once: the lanes this node can serve.</summary>
    int Slots { get; }

    /// <exception cref="EngineRequestInvalid">The engine cannot honour the request as written.</exception>
    EnginePrompt PrepareChat(string model, ChatRequest request);

    EnginePrompt PrepareCompletion(string model, string prompt);

    IAsyncEnumerable<GeneratedChunk> GenerateAsync(EnginePrompt prompt, Sampling sampling, CancellationToken ct);
}

public static class InferenceEngineExtensions
{
    /// <summary>A plain chat: messages only, no tools, free text.</summary>
    public static EnginePrompt PrepareChat(this IInferenceEngine engine, string model, IReadOnlyList<ChatTurn> messages) =>
        engine.PrepareChat(model, ChatRequest.Of(messages));
}
