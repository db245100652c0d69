using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Engine.Scripted;

/// <summary>
/// Replies with a fixed script of tokens at a fixed pace, so gateway behaviour and overhead can be measured without
/// a model. Prompt tokens are counted as one per four UTF-16 characters, rounded up.
/// </summary>
public sealed class ScriptedEngine(IOptions<ScriptedEngineOptions> options, TimeProvider clock) : IInferenceEngine
{
    private readonly ScriptedEngineOptions _options = options.Value;
    private readonly string[] _script = Enumerable.Range(0, options.Value.Tokens).Select(i => i == 0 ? "tok0" : $" tok{i}").ToArray();

    public IReadOnlyList<EngineModel> Models { get; } = [new(options.Value.Model, options.Value.ContextTokens)];

    public int Slots => _options.Slots;

    public EnginePrompt PrepareChat(string model, IReadOnlyList<ChatTurn> messages) =>
        new(model, messages.Sum(m => Count(m.Role) + Count(m.Content) + 3), messages.Count);

    public EnginePrompt PrepareCompletion(string model, string prompt) => new(model, Count(prompt), 1);

    public async IAsyncEnumerable<GeneratedChunk> GenerateAsync(EnginePrompt prompt, Sampling sampling, [EnumeratorCancellation] CancellationToken ct)
    {
        var tokens = Math.Min(_options.Tokens, sampling.MaxTokens);
        for (var i = 0; i < tokens; i++)
        {
            if (_options.TokenDelay > TimeSpan.Zero)
            {
                await Task.Delay(_options.TokenDelay, clock, ct);
            }

            ct.ThrowIfCancellationRequested();
            var last = i == tokens - 1;
            yield return new GeneratedChunk(_script[i], 1, last ? (tokens < _options.Tokens ? FinishReason.Length : FinishReason.Stop) : null);
        }
    }

    private static int Count(string text) => (text.Length + 3) / 4;
}
