using System.Diagnostics;
using System.Net;
using Lanes.Testing;

namespace Lanes.ScaleOut.Tests.Faults;

/// <summary>One request's outcome: when it started (since the load began), how long it took, its status (0: no
/// answer, as from a gateway that was killed).</summary>
public readonly record struct Outcome(TimeSpan StartedAt, TimeSpan Took, HttpStatusCode Status, string Gateway);

/// <summary>
/// Steady traffic for one key, as an agent fleet sends it: <c>loops</c> clients, each sending one request after the
/// other, spread over the live gateways the way a load balancer does (a gateway that stops answering is left out).
/// Refusals are retried at once: the scenarios that use it stop soon after a key is refused everywhere.
/// </summary>
public sealed class LoadLoop : IAsyncDisposable
{
    private readonly List<Outcome> _outcomes = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _running;

    public LoadLoop(Func<IReadOnlyList<ServiceProcess>> gateways, string secret, int loops, int tokens = 4)
    {
        Clock = Stopwatch.StartNew();
        _running = Task.WhenAll(Enumerable.Range(0, loops).Select(i => Task.Run(() => LoopAsync(gateways, secret, i, tokens))));
    }

    public Stopwatch Clock { get; }

    public IReadOnlyList<Outcome> Outcomes
    {
        get
        {
            lock (_outcomes)
            {
                return [.. _outcomes];
            }
        }
    }

    /// <summary>Requests answered 200 (what the customer was served, and what billing must record).</summary>
    public int Served => Outcomes.Count(o => o.Status == HttpStatusCode.OK);

    /// <summary>Stops sending and waits for the requests in flight.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await _running;
    }

    private async Task LoopAsync(Func<IReadOnlyList<ServiceProcess>> gateways, string secret, int loop, int tokens)
    {
        for (var n = loop; !_stop.IsCancellationRequested; n++)
        {
            var live = gateways().Where(g => !g.HasExited).ToList();
            if (live.Count == 0)
            {
                return;
            }

            var gateway = live[n % live.Count];
            var started = Clock.Elapsed;
            HttpStatusCode status;
            try
            {
                status = await GatewayProcesses.ChatAsync(gateway, secret, tokens);
            }
            catch (HttpRequestException)
            {
                status = 0;
            }

            lock (_outcomes)
            {
                _outcomes.Add(new Outcome(started, Clock.Elapsed - started, status, gateway.Name));
            }

        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await StopAsync();
        }

        _stop.Dispose();
    }
}
