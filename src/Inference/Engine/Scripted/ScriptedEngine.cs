using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Engine.Scripted;

/// <summary>
/// Replies with a fixed script of tokens at a fixed pace, so gateway behaviour and overhead can be measured without
/// a model. Prompt tokens are counted as one per four UTF-16 characters, rounded up. With tools it plays a model that
/// calls them: see <see cref="ScriptedToolPlan"/>.
/// </summary>
public sealed class ScriptedEngine(IOptions<ScriptedEngineOptions> options, TimeProvider clock) : IInferenceEngine
{
    private readonly ScriptedEngineOptions _options = options.Value;
    private readonly string[] _script = Script(options.Value.Tokens);

    // The plain text answer is the same for every request: built once, so the benchmarks measure the gateway rather
    // than this engine's allocations.
    private readonly IReadOnlyList<GeneratedChunk> _text = ScriptedToolPlan.Text.Pieces(Script(options.Value.Tokens));

    public IReadOnlyList<EngineModel> Models { get; } = [new(options.Value.Model, options.Value.ContextTokens, Features: EngineFeatures.Tools)];

    public int Slots => _options.Slots;

    public EnginePrompt PrepareChat(string model, ChatRequest request) =>
        new(model, request.Messages.Sum(m => Count(m.Role) + Count(m.Content) + 3 + (m.ToolCalls?.Sum(c => Count(c.Name) + Count(c.Arguments)) ?? 0))
                   + request.Tools.Sum(t => Count(t.Name) + Count(t.Description ?? "") + Count(t.Parameters.GetRawText())),
            ScriptedToolPlan.For(request));

    public EnginePrompt PrepareCompletion(string model, string prompt) => new(model, Count(prompt), ScriptedToolPlan.Text);

    public async IAsyncEnumerable<GeneratedChunk> GenerateAsync(EnginePrompt prompt, Sampling sampling, [EnumeratorCancellation] CancellationToken ct)
    {
        var plan = (ScriptedToolPlan)prompt.State;
        var pieces = plan == ScriptedToolPlan.Text ? _text : plan.Pieces(_script);
        var tokens = Math.Min(pieces.Count, sampling.MaxTokens);
        for (var i = 0; i < tokens; i++)
        {
            if (_options.TokenDelay > TimeSpan.Zero)
            {
                await Task.Delay(_options.TokenDelay, clock, ct);
            }

            ct.ThrowIfCancellationRequested();
            var last = i == tokens - 1;
            var finish = !last ? (FinishReason?)null
                : tokens < pieces.Count ? FinishReason.Length
                : plan.Calls.Count > 0 ? FinishReason.ToolCalls
                : FinishReason.Stop;
            yield return finish is null && pieces[i].Finish is null ? pieces[i] : pieces[i] with { Finish = finish };
        }
    }

    private static string[] Script(int tokens) => [.. Enumerable.Range(0, tokens).Select(i => i == 0 ? "tok0" : $" tok{i}")];

    private static int Count(string text) => (text.Length + 3) / 4;
}
