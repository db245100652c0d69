using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Lanes.Engine.Bench;

/// <summary>
/// Issue 18 E2: tensor ops and host↔device copies per decode step, counted by the engine (TorchSharp's count of
/// tensors made, and every copy through DeviceCopies), greedy and sampled, at batch 1, 8 and 32.
/// </summary>
public static class StepCost
{
    public static async Task RunAsync(string folder, int threads)
    {
        Console.WriteLine("E2 decode step cost: counted per decode-only step on the benchmark model");
        Console.WriteLine("| sampling | batch | tensor ops per step | copies to device | copies to host (syncs) | decode steps |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (label, sampling) in new[] { ("greedy", new Sampling(24, Temperature: 0)), ("temperature 0.8, top_p 0.95", new Sampling(24, Temperature: 0.8, TopP: 0.95, Seed: 3)), ("temperature 0.8", new Sampling(24, Temperature: 0.8, Seed: 3)) })
        {
            foreach (var batch in new[] { 1, 8, 32 })
            {
                using var engine = new TorchEngine(
                    Options.Create(new TorchEngineOptions { ModelPath = folder, ModelId = "bench", Slots = 32, ContextTokens = 1024, Threads = threads, IgnoreEndOfSequence = true }),
                    NullLogger<TorchEngine>.Instance);
                var prompts = Enumerable.Range(0, batch).Select(i => engine.PrepareCompletion("bench", $"probe {i} one two three four five six seven")).ToList();
                await Task.WhenAll(prompts.Select(async p =>
                {
                    await foreach (var _ in engine.GenerateAsync(p, sampling, CancellationToken.None))
                    {
                    }
                }));
                var counts = engine.DecodeStepCounts;
                Console.WriteLine($"| {label} | {batch} | {counts.OpsPerStep:F1} | {counts.ToDevicePerStep:F1} | {counts.ToHostPerStep:F1} | {counts.Steps} |");
            }
        }

        Console.WriteLine();
    }
}
