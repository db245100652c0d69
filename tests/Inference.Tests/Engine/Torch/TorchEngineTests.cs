using System.Diagnostics;
using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch;

namespace Lanes.Inference.Tests.Engine.Torch;

/// <summary>Runs alone, after the parallel classes: one test reads the whole process's resident memory, which other
/// classes' engines would move.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class MeasuresProcessMemory
{
    public const string Name = "Measures process memory";
}

[Collection(MeasuresProcessMemory.Name)]
public class TorchEngineTests
{
    private static readonly string[] Prompts =
    [
        "What is a lane?",
        "Hi",
        "Why is the sky blue today?",
        "Tell me a story about a boat.",
        "What is two plus two? And what is three plus four?",
        "What is continuous batching, and why does a KV cache make each new token cheap?",
        "Tell me a story about a small boat on a calm sea, with the wind and the stars, and a long way home.",
        "A cat sat on the mat and looked at the moon for a long, long time, and then it went to sleep in the warm sun by the door.",
    ];

    [Fact]
    public async Task Greedy_output_for_a_prompt_is_identical_alone_and_batched_with_seven_other_prompts_of_different_lengths()
    {
        using var engine = TinyModel.Engine(slots: 8);
        var alone = await Generate(engine, Prompts[0], Greedy(24));

        var stepsBefore = engine.Steps;
        var batched = await Task.WhenAll(Prompts.Select(p => Generate(engine, p, Greedy(24))));

        Assert.Equal(alone, batched[0]);
        Assert.Equal(24, alone.Tokens);
        Assert.Equal(8, Prompts.Select(p => engine.PrepareChat("lanes-demo", [new ChatTurn("user", p)]).PromptTokens).Distinct().Count());
        // They ran together: far fewer steps than 8 sequences one after another.
        Assert.True(engine.Steps - stepsBefore < 8 * 24 / 2, $"{engine.Steps - stepsBefore} steps");
    }

    [Fact]
    public async Task Cancelling_a_request_mid_stream_frees_its_slot_and_leaves_the_others_outputs_unchanged()
    {
        using var engine = TinyModel.Engine(slots: 4);
        var expected = await Task.WhenAll(Prompts[1..4].Select(p => Generate(engine, p, Greedy(32))));

        using var cancel = new CancellationTokenSource();
        var victim = Task.Run(async () =>
        {
            var received = 0;
            await foreach (var chunk in engine.GenerateAsync(Chat(engine, Prompts[0]), Greedy(1000), cancel.Token))
            {
                if (++received == 5)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        var others = Prompts[1..4].Select(p => Generate(engine, p, Greedy(32))).ToList();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => victim);
        Assert.Equal(expected, await Task.WhenAll(others));
        // Its slot is free at once: had it kept running, it would still hold its slot for another ~200 tokens.
        Assert.Equal(0, engine.Active);
        var after = await Task.WhenAll(Prompts[1..5].Select(p => Generate(engine, p, Greedy(8))));
        Assert.All(after, a => Assert.Equal(8, a.Tokens));
    }

    [Fact]
    public async Task A_stop_string_ends_the_reply_and_is_not_streamed()
    {
        using var engine = TinyModel.Engine();
        var free = await Generate(engine, Prompts[2], Greedy(40));
        var stop = free.Text.Substring(10, 3);

        var stopped = await Generate(engine, Prompts[2], Greedy(40) with { Stop = [stop] });

        Assert.Equal(free.Text[..free.Text.IndexOf(stop, StringComparison.Ordinal)], stopped.Text);
        Assert.Equal(FinishReason.Stop, stopped.Finish);
        Assert.Equal(FinishReason.Length, free.Finish);
    }

    [Fact]
    public async Task A_decode_step_copies_to_the_device_once_and_reads_back_once_whether_rows_are_greedy_or_sampled()
    {
        using var engine = TinyModel.Engine(slots: 4);

        await Task.WhenAll(
            Generate(engine, Prompts[0], Greedy(16)),
            Generate(engine, Prompts[2], new Sampling(16, Temperature: 0.8, Seed: 5)),
            Generate(engine, Prompts[3], new Sampling(16, Temperature: 0.8, TopP: 0.9, Seed: 6)));

        // On a GPU each copy back is a sync that stalls the device; the step plan and the sampling parameters are
        // one copy each way.
        var counts = engine.DecodeStepCounts;
        Assert.True(counts.Steps >= 10, $"{counts.Steps} decode steps");
        Assert.Equal(counts.Steps, counts.ToHost);
        Assert.InRange(counts.ToDevice, counts.Steps, 2 * counts.Steps);
    }

    [Fact]
    public async Task Seeded_sampling_repeats_and_different_seeds_differ()
    {
        using var engine = TinyModel.Engine();
        var sampling = new Sampling(30, Temperature: 1.0, TopP: 0.9, TopK: 50, Seed: 42);

        var first = await Generate(engine, Prompts[3], sampling);
        var again = await Task.WhenAll(Generate(engine, Prompts[3], sampling), Generate(engine, Prompts[6], sampling));
        var other = await Generate(engine, Prompts[3], sampling with { Seed = 43 });

        Assert.Equal(first, again[0]);
        Assert.NotEqual(first.Text, other.Text);
    }

    [Fact]
    public async Task Memory_does_not_grow_over_1000_generations()
    {
        using var engine = TinyModel.Engine(slots: 8);
        await Run(200);
        var (tensorsBefore, before) = (engine.LiveTensors, Resident());

        await Run(1000);
        var (tensorsAfter, after) = (engine.LiveTensors, Resident());

        Assert.Equal(tensorsBefore, tensorsAfter);
        // Resident memory is the whole test process: a leak of one step's activations would add hundreds of MiB.
        Assert.True(after - before < 64L * 1024 * 1024, $"resident memory grew by {(after - before) / 1024 / 1024} MiB");

        async Task Run(int generations)
        {
            for (var i = 0; i < generations; i += 8)
            {
                await Task.WhenAll(Enumerable.Range(i, 8).Select(j => Generate(engine, Prompts[j % 8], new Sampling(4 + j % 5, Temperature: 0.8, Seed: j))));
            }
        }

        static long Resident()
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            GC.Collect();
            using var self = Process.GetCurrentProcess();
            self.Refresh();
            return self.WorkingSet64;
        }
    }

    private static Sampling Greedy(int tokens) => new(tokens, Temperature: 0);

    private static EnginePrompt Chat(TorchEngine engine, string prompt) => engine.PrepareChat("lanes-demo", [new ChatTurn("user", prompt)]);

    private static async Task<Reply> Generate(TorchEngine engine, string prompt, Sampling sampling)
    {
        var text = "";
        var tokens = 0;
        FinishReason? finish = null;
        await foreach (var chunk in engine.GenerateAsync(Chat(engine, prompt), sampling, CancellationToken.None))
        {
            text += chunk.Text;
            tokens += chunk.Tokens;
            finish = chunk.Finish ?? finish;
        }

        return new Reply(text, tokens, finish);
    }

    private sealed record Reply(string Text, int Tokens, FinishReason? Finish);
}
