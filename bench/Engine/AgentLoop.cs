using System.Collections.Concurrent;
using System.Diagnostics;
using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch;

namespace Lanes.Engine.Bench;

/// <summary>
/// Issue 18, E1: the traffic our customers bring. Each of <c>tenants</c> runs one agent conversation of <c>turns</c>
/// turns, all at once; every turn resends the conversation so far (a <c>prefix</c>-token system prompt with tools,
/// then each earlier request and answer) plus a new request. Run twice on the same engine and the same
/// conversations: without a cache scope (every prompt prefilled from scratch) and with each tenant's scope (its
/// earlier turns' blocks reused). Prefill tokens are the engine's own count; time to first token is measured per
/// request from when it was sent.
/// </summary>
internal static class AgentLoop
{
    public static async Task RunAsync(TorchEngine engine, int tenants, int turns, int prefix, int requestTokens, int answerTokens)
    {
        Console.WriteLine($"E1 agent loop: {tenants} tenants x {turns} turns, a {prefix:N0}-token prefix, {requestTokens} new tokens and a {answerTokens}-token answer a turn");
        var without = await RunOnce(engine, cached: false, tenants, turns, prefix, requestTokens, answerTokens);
        var with = await RunOnce(engine, cached: true, tenants, turns, prefix, requestTokens, answerTokens);
        Console.WriteLine("| | prefill tokens computed | cached prompt tokens | TTFT p50 | TTFT p99 | whole run |");
        Console.WriteLine("|---|---|---|---|---|---|");
        foreach (var (name, r) in new[] { ("without prefix caching", without), ("with prefix caching", with) })
        {
            Console.WriteLine($"| {name} | {r.Prefilled:N0} | {r.Cached:N0} | {r.TtftP50 * 1000:F0} ms | {r.TtftP99 * 1000:F0} ms | {r.Seconds:F1} s |");
        }

        Console.WriteLine($"prefill tokens without / with: {(double)without.Prefilled / with.Prefilled:F1}x fewer (aim >= 5); " +
                          $"TTFT p50 without / with: {without.TtftP50 / with.TtftP50:F1}x lower (aim >= 3)");
        Console.WriteLine();
    }

    private sealed record Result(long Prefilled, long Cached, double TtftP50, double TtftP99, double Seconds);

    private static async Task<Result> RunOnce(TorchEngine engine, bool cached, int tenants, int turns, int prefix, int requestTokens, int answerTokens)
    {
        var firsts = new ConcurrentBag<double>();
        var (prefilledBefore, cachedBefore) = (engine.PrefilledTokens, engine.CachedPromptTokens);
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, tenants).Select(Conversation));
        var seconds = clock.Elapsed.TotalSeconds;
        var sorted = firsts.Order().ToList();
        return new Result(engine.PrefilledTokens - prefilledBefore, engine.CachedPromptTokens - cachedBefore, sorted[sorted.Count / 2], sorted[(int)(sorted.Count * 0.99)], seconds);

        async Task Conversation(int tenant)
        {
            // The same conversations in both runs: the seed is the tenant.
            var random = new Random(tenant);
            var vocabulary = engine.Model.Config.VocabSize;
            var tokens = new List<int>(prefix + turns * (requestTokens + answerTokens));
            void Add(int count)
            {
                for (var i = 0; i < count; i++)
                {
                    tokens.Add(random.Next(256, vocabulary - 256));
                }
            }

            Add(prefix);
            for (var turn = 0; turn < turns; turn++)
            {
                Add(requestTokens);
                var prompt = new EnginePrompt("bench", tokens.Count, new TorchPrompt([.. tokens]));
                var sampling = new Sampling(answerTokens, Temperature: 0) { CacheScope = cached ? $"tenant-{tenant}" : null };
                var sent = clock.Elapsed.TotalSeconds;
                var first = -1.0;
                await foreach (var _ in engine.GenerateAsync(prompt, sampling, CancellationToken.None))
                {
                    first = first < 0 ? clock.Elapsed.TotalSeconds - sent : first;
                }

                firsts.Add(first);

                // The agent sends the answer back as history (re-encoded by its client, so as new tokens here).
                Add(answerTokens);
            }
        }
    }
}
