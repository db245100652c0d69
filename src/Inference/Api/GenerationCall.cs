using Lanes.Inference.Engine;

namespace Lanes.Inference.Api;

/// <summary>A validated chat or completion request, as the pipeline runs it.</summary>
public sealed record GenerationCall(
    string Model,
    ChatRequest? Chat,
    string? Prompt,
    int? MaxTokens,
    double? Temperature,
    double? TopP,
    long? Seed,
    IReadOnlyList<string> Stop,
    bool Stream,
    bool IncludeUsage)
{
    public bool IsChat => Chat is not null;

    /// <summary>The API the request came through, counted in usage.</summary>
    public Lanes.Billing.Usage.ApiDoor Door { get; init; }

    public IReadOnlyList<ChatTurn>? Messages => Chat?.Messages;

    /// <summary>What the request needs beyond plain text generation, with the parameter that asked for each (the
    /// first one named, for the error when the serving engine cannot honour it).</summary>
    public IReadOnlyList<(EngineFeatures Feature, string Param)> Needs { get; init; } = [];

    /// <summary>Characters of prompt text, for the cheap too-long check before tokenizing.</summary>
    public long PromptCharacters => Chat is { } chat
        ? chat.Messages.Sum(m => (long)m.Content.Length + m.Role.Length + (m.ToolCalls?.Sum(t => (long)t.Name.Length + t.Arguments.Length) ?? 0))
          + chat.Tools.Sum(t => (long)t.Name.Length + (t.Description?.Length ?? 0) + t.Parameters.GetRawText().Length)
        : Prompt!.Length;
}
