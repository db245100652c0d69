using System.Diagnostics;
using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch;

namespace Lanes.Engine.Bench;

/// <summary>
/// Issue 18, E3: what a long prompt does to the lanes already running. <c>running</c> sequences decode; their
/// inter-token gaps are timed for a while alone (p50), then while a <c>prompt</c>-token prompt is prefilled beside
/// them (p99, from when it is sent until its first token).
/// </summary>
internal static class LongPromptPacing
{
    public static async Task<(double CalmP50, double CalmP99, double DuringP99, double PrefillSeconds)> RunAsync(TorchEngine engine, int running, int prompt)
    {
        using var stop = new CancellationTokenSource();
        var gaps = new List<(double At, double Gap)>();
        var clock = Stopwatch.StartNew();
        var started = new CountdownEvent(running);
        var random = new Random(11);
        var vocabulary = engine.Model.Config.VocabSize;
        int[] Tokens(int count) => [.. Enumerable.Range(0, count).Select(_ => random.Next(256, vocabulary - 256))];

        var decoders = Enumerable.Range(0, running).Select(i => Tokens(32)).ToList().Select(tokens => Task.Run(async () =>
        {
            var last = -1.0;
            try
            {
                await foreach (var _ in engine.GenerateAsync(new EnginePrompt("bench", tokens.Length, new TorchPrompt(tokens)), new Sampling(100_000, Temperature: 0), stop.Token))
                {
                    var now = clock.Elapsed.TotalSeconds;
                    if (last < 0)
                    {
                        started.Signal();
                    }
                    else
                    {
                        lock (gaps)
                        {
                            gaps.Add((now, now - last));
                        }
                    }

                    last = now;
                }
            }
            catch (OperationCanceledException)
            {
            }
        })).ToList();

        started.Wait();
        var calmFrom = clock.Elapsed.TotalSeconds + 0.5; // past the decoders' own prefill
        await Task.Delay(TimeSpan.FromSeconds(3));
        var longTokens = Tokens(prompt);
        var sent = clock.Elapsed.TotalSeconds;
        var first = 0.0;
        await foreach (var _ in engine.GenerateAsync(new EnginePrompt("bench", longTokens.Length, new TorchPrompt(longTokens)), new Sampling(1, Temperature: 0), CancellationToken.None))
        {
            first = clock.Elapsed.TotalSeconds;
        }

        await stop.CancelAsync();
        await Task.WhenAll(decoders);
        List<double> calm, during;
        lock (gaps)
        {
            calm = [.. gaps.Where(g => g.At > calmFrom && g.At <= sent).Select(g => g.Gap).Order()];
            during = [.. gaps.Where(g => g.At > sent && g.At - g.Gap < first).Select(g => g.Gap).Order()];
        }

        return (calm[calm.Count / 2], calm[Math.Min(calm.Count - 1, (int)(calm.Count * 0.99))], during[Math.Min(during.Count - 1, (int)(during.Count * 0.99))], first - sent);
    }
}
