using System.Diagnostics;
using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch;
using Lanes.Inference.Engine.Torch.Batching;

namespace Lanes.Engine.Bench;

/// <summary>
/// Issue 18, E3: what a long prompt does to the lanes already running. <c>running</c> sequences decode; a
/// <c>prompt</c>-token prompt arrives after a few seconds and is prefilled beside them, and their inter-token gaps
/// from when it is sent until its first token are the "during" gaps.
/// <para>
/// The gaps "without" it are those of the decode-only steps among them (every <see cref="PrefillPace.ProbeEvery"/>th
/// step leaves the prompt out): the same sequences at the same positions, timed in the same seconds. Gaps timed
/// before the prompt arrived (reported too) are no fair baseline: a sequence's step grows with its own context, and
/// in a 15-second prefill each one writes hundreds of tokens; and a second engine decoding alone over the same
/// positions was tried, but this shared VM's speed drifts by a third between runs a minute apart.
/// </para>
/// </summary>
internal static class LongPromptPacing
{
    /// <summary>Gaps in seconds: before the prompt; decode-only steps while it prefills; every step while it
    /// prefills.</summary>
    public sealed record Result(double CalmP50, double AloneP50, int AloneCount, double DuringP50, double DuringP99, int DuringCount, double PrefillSeconds);

    public static async Task<Result> RunAsync(TorchEngine engine, int running, int prompt)
    {
        using var stop = new CancellationTokenSource();
        var gaps = new List<(double At, double Seconds, bool DecodeOnly)>();
        var clock = Stopwatch.StartNew();
        var started = new CountdownEvent(running);
        var random = new Random(11);
        var vocabulary = engine.Model.Config.VocabSize;
        int[] Tokens(int count) => [.. Enumerable.Range(0, count).Select(_ => random.Next(256, vocabulary - 256))];

        var decoders = Enumerable.Range(0, running).Select(i => Tokens(32)).ToList().Select(tokens => Task.Run(async () =>
        {
            var last = -1.0;
            var prefilled = 0L;
            try
            {
                await foreach (var _ in engine.GenerateAsync(new EnginePrompt("bench", tokens.Length, new TorchPrompt(tokens)), new Sampling(100_000, Temperature: 0), stop.Token))
                {
                    var now = clock.Elapsed.TotalSeconds;
                    // The engine counts a step's prefilled tokens before it hands out the step's tokens, and the next
                    // step takes tens of milliseconds: no change since this sequence's last token means the step that
                    // made this one prefilled nothing.
                    var total = engine.PrefilledTokens;
                    if (last < 0)
                    {
                        started.Signal();
                    }
                    else
                    {
                        lock (gaps)
                        {
                            gaps.Add((now, now - last, total == prefilled));
                        }
                    }

                    (last, prefilled) = (now, total);
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
        List<double> calm, alone, during;
        lock (gaps)
        {
            calm = [.. gaps.Where(g => g.At > calmFrom && g.At <= sent).Select(g => g.Seconds)];
            var window = gaps.Where(g => g.At > sent && g.At - g.Seconds < first).ToList();
            alone = [.. window.Where(g => g.DecodeOnly).Select(g => g.Seconds)];
            during = [.. window.Select(g => g.Seconds)];
        }

        return new Result(Percentile(calm, 0.5), alone.Count == 0 ? double.NaN : Percentile(alone, 0.5), alone.Count, Percentile(during, 0.5), Percentile(during, 0.99), during.Count, first - sent);
    }

    private static double Percentile(List<double> values, double p)
    {
        var sorted = values.Order().ToList();
        return sorted[Math.Min(sorted.Count - 1, (int)(sorted.Count * p))];
    }
}
