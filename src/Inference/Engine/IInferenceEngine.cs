namespace Lanes.Inference.Engine;

/// <summary>A model an engine serves, with the context that caps a request's tokens.</summary>
public sealed record EngineModel(string Id, int ContextTokens, string OwnedBy = "lanes");

/// <summary>One chat message as the engine sees it (no tool calls: the gateway refuses them).</summary>
public sealed record ChatTurn(string Role, string Content);

/// <summary>A prompt the engine has tokenized, ready to generate from.</summary>
public sealed record EnginePrompt(string Model, int PromptTokens, object State);

/// <summary>How to pick tokens. Null means the engine's default.</summary>
public sealed record Sampling(
    int MaxTokens, double? Temperature = null, double? TopP = null, int? TopK = null, long? Seed = null,
    IReadOnlyList<string>? Stop = null);

public enum FinishReason
{
    Stop,
    Length,
}

/// <summary>A piece of generated text (never splitting a UTF-8 character) and how many tokens it holds. An engine
/// that learns the prompt's exact size only at the end (an upstream server) reports it in
/// <paramref name="PromptTokens"/> on its last chunk.</summary>
public readonly record struct GeneratedChunk(string Text, int Tokens, FinishReason? Finish, int? PromptTokens = null);

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

    EnginePrompt PrepareChat(string model, IReadOnlyList<ChatTurn> messages);

    EnginePrompt PrepareCompletion(string model, string prompt);

    IAsyncEnumerable<GeneratedChunk> GenerateAsync(EnginePrompt prompt, Sampling sampling, CancellationToken ct);
}
