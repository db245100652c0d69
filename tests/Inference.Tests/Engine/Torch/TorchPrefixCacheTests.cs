using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch;

namespace Lanes.Inference.Tests.Engine.Torch;

/// <summary>Prefix caching and chunked prefill in the engine, as an agent loop meets them.</summary>
public class TorchPrefixCacheTests
{
    /// <summary>An agent's system prompt: the long part every turn resends.</summary>
    private static readonly string AgentPrompt = string.Join(" ", Enumerable.Repeat("You are a careful coding agent: read the files, run the tests, then report what changed and why.", 5));

    private static readonly ChatTurn[] FirstTurn = [new("system", AgentPrompt), new("user", "Fix the failing test in the lanes module.")];

    [Fact]
    public async Task A_tenants_next_turn_reuses_its_cached_prefix_reports_it_as_cached_and_answers_exactly_as_without_the_cache()
    {
        using var engine = TinyModel.Engine(slots: 4, context: 512);
        var first = await Generate(engine, FirstTurn, "tenant-a");
        ChatTurn[] secondTurn = [.. FirstTurn, new("assistant", first.Text), new("user", "Now run the tests again.")];
        var uncached = await Generate(engine, secondTurn, scope: null);
        var prefilledBefore = engine.PrefilledTokens;

        var second = await Generate(engine, secondTurn, "tenant-a");

        var prompt = engine.PrepareChat("lanes-demo", secondTurn).PromptTokens;
        Assert.Equal(0, first.Cached);
        Assert.True(second.Cached >= 4 * engine.KvBlockSize, $"{second.Cached} of {prompt} prompt tokens cached");
        Assert.True(second.Cached < prompt);
        Assert.Equal(0, second.Cached % engine.KvBlockSize);
        Assert.Equal(prompt - second.Cached, engine.PrefilledTokens - prefilledBefore); // only the rest was computed
        Assert.Equal(uncached.Text, second.Text);
        Assert.Equal(0, uncached.Cached);
    }

    [Fact]
    public async Task Another_tenants_identical_prompt_is_never_served_from_the_first_tenants_cache()
    {
        using var engine = TinyModel.Engine(slots: 4, context: 512);
        await Generate(engine, FirstTurn, "tenant-a");
        Assert.True((await Generate(engine, FirstTurn, "tenant-a")).Cached > 0);

        var other = await Generate(engine, FirstTurn, "tenant-b");

        Assert.Equal(0, other.Cached);
    }

    [Fact]
    public async Task An_operator_marked_system_prompt_is_shared_across_tenants_and_nothing_after_it_is()
    {
        using var engine = TinyModel.Engine(slots: 4, context: 512, o => o.SharedPrefixes = [AgentPrompt]);
        var shared = ((TorchPrompt)engine.PrepareChat("lanes-demo", FirstTurn).State).SharedTokens;
        await Generate(engine, FirstTurn, "tenant-a");
        var again = await Generate(engine, FirstTurn, "tenant-a");

        var other = await Generate(engine, FirstTurn, "tenant-b");

        // Tenant b gets the system turn's whole blocks from the shared cache; the blocks after it were tenant a's.
        Assert.True(shared >= 3 * engine.KvBlockSize, $"{shared} shared tokens");
        Assert.Equal(shared / engine.KvBlockSize * engine.KvBlockSize, other.Cached);
        Assert.True(again.Cached > other.Cached, $"tenant a {again.Cached}, tenant b {other.Cached}");
    }

    [Fact]
    public async Task A_long_prompt_is_prefilled_in_chunks_while_a_running_sequence_keeps_decoding_unchanged()
    {
        using var engine = TinyModel.Engine(slots: 4, context: 512, o =>
        {
            o.MaxPrefillTokensPerStep = 32;
            o.IgnoreEndOfSequence = true;
        });
        ChatTurn[] shortTurn = [new("user", "Hi")];
        var alone = await Generate(engine, shortTurn, null, tokens: 120);

        var started = new TaskCompletionSource();
        var running = Generate(engine, shortTurn, null, tokens: 120, firstChunk: () => started.TrySetResult());
        await started.Task;
        var longPrompt = engine.PrepareChat("lanes-demo", FirstTurn);
        var stepsAtSubmit = engine.Steps;
        long stepsAtFirstToken = 0;
        await foreach (var _ in engine.GenerateAsync(longPrompt, new Sampling(2, Temperature: 0), CancellationToken.None))
        {
            stepsAtFirstToken = stepsAtFirstToken == 0 ? engine.Steps : stepsAtFirstToken;
        }

        // 32 tokens a step: the prompt took a step per chunk, and the running sequence decoded in every one of them,
        // its output unchanged by the company.
        Assert.True(longPrompt.PromptTokens > 3 * 32, $"{longPrompt.PromptTokens} prompt tokens");
        Assert.True(stepsAtFirstToken - stepsAtSubmit >= longPrompt.PromptTokens / 32, $"{stepsAtFirstToken - stepsAtSubmit} steps");
        Assert.Equal(alone.Text, (await running).Text);
    }

    [Fact]
    public void The_prefill_pace_steers_chunks_toward_a_step_of_the_stretch_times_a_decode_step()
    {
        var pace = new Lanes.Inference.Engine.Torch.Batching.PrefillPace(stretch: 1.5, cap: 4096, blockSize: 16);
        Assert.Equal(4096, pace.Budget(decoding: 0)); // nobody to keep pace with
        Assert.Equal(16, pace.Budget(decoding: 4)); // nothing measured yet: one block

        pace.Record(TimeSpan.FromMilliseconds(20), prefilled: 0, decoding: 4); // a decode step: 20 ms, so the target is 30 ms
        pace.Record(TimeSpan.FromMilliseconds(15), prefilled: 16, decoding: 4);
        Assert.Equal(32, pace.Budget(decoding: 4)); // twice as fast as allowed: twice the tokens

        pace.Record(TimeSpan.FromMilliseconds(60), prefilled: 32, decoding: 4);
        Assert.Equal(16, pace.Budget(decoding: 4)); // later chunks cost more per token: halved

        pace.Record(TimeSpan.FromMilliseconds(60), prefilled: 16, decoding: 4);
        Assert.Equal(8, pace.Budget(decoding: 4)); // below a block when a block costs too much

        pace.Record(TimeSpan.FromMilliseconds(300), prefilled: 8, decoding: 4);
        Assert.Equal(8, pace.Budget(decoding: 4)); // never below half a block
    }

    [Fact]
    public void While_a_prompt_is_prefilled_beside_decodes_every_eighth_step_is_decode_only_and_retunes_the_target()
    {
        var pace = new Lanes.Inference.Engine.Torch.Batching.PrefillPace(stretch: 1.5, cap: 4096, blockSize: 16);
        // No decode-only step timed yet (the prompt arrived with the others' first decode step): still probed.
        for (var step = 0; step < Lanes.Inference.Engine.Torch.Batching.PrefillPace.ProbeEvery - 1; step++)
        {
            Assert.Equal(16, pace.Budget(decoding: 4));
            pace.Record(TimeSpan.FromMilliseconds(30), prefilled: 16, decoding: 4);
        }

        Assert.Equal(0, pace.Budget(decoding: 4));
        Assert.Equal(4096, pace.Budget(decoding: 0)); // with nobody decoding there is nothing to probe
        pace.Record(TimeSpan.FromMilliseconds(20), prefilled: 0, decoding: 4); // target now 30 ms
        Assert.Equal(16, pace.Budget(decoding: 4));
        pace.Record(TimeSpan.FromMilliseconds(15), prefilled: 16, decoding: 4);
        Assert.Equal(32, pace.Budget(decoding: 4));

        // The running sequences' contexts grow: later probes find decode-only steps at 40 ms, and a chunk that took
        // 60 ms (twice the target before) then keeps its size instead of halving.
        for (var step = 1; step < Lanes.Inference.Engine.Torch.Batching.PrefillPace.ProbeEvery - 1; step++)
        {
            pace.Record(TimeSpan.FromMilliseconds(30), prefilled: 32, decoding: 4);
        }

        Assert.Equal(0, pace.Budget(decoding: 4));
        for (var probe = 0; probe < 30; probe++)
        {
            pace.Record(TimeSpan.FromMilliseconds(40), prefilled: 0, decoding: 4);
        }

        pace.Record(TimeSpan.FromMilliseconds(60), prefilled: 32, decoding: 4);
        Assert.InRange(pace.Budget(decoding: 4), 31, 32);
    }

    private static async Task<Reply> Generate(TorchEngine engine, ChatTurn[] turns, string? scope, int tokens = 12, Action? firstChunk = null)
    {
        var text = "";
        var cached = 0;
        await foreach (var chunk in engine.GenerateAsync(engine.PrepareChat("lanes-demo", turns), new Sampling(tokens, Temperature: 0) { CacheScope = scope }, CancellationToken.None))
        {
            firstChunk?.Invoke();
            text += chunk.Text;
            cached = chunk.CachedPromptTokens ?? cached;
        }

        return new Reply(text, cached);
    }

    private sealed record Reply(string Text, int Cached);
}
