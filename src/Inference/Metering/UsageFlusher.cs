using Lanes.Billing.GatewayContract;
using Lanes.Billing.Usage;
using Lanes.Inference.Infrastructure;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Metering;

/// <summary>
/// Sends metered usage to billing every interval and at shutdown. Each batch is spooled to disk first
/// (<see cref="UsageSpool"/>) and keeps its id until billing has it, so a flush retried after a timeout, a crash between
/// commit and acknowledgement, or a gateway killed while the database is away counts once and loses nothing.
/// </summary>
public sealed partial class UsageFlusher(
    UsageMeter meter,
    IUsageSink recorder,
    UsageSpool spool,
    RequestDrain drain,
    IOptions<MeteringOptions> options,
    IOptions<Api.GatewayOptions> gateway,
    ILogger<UsageFlusher> logger) : BackgroundService
{
    // Note: one flush at a time. Two at once (the timer's and a shutdown's or a test's) would both send the head
    // batch and both dequeue, dropping the batch behind it.
    private readonly SemaphoreSlim _flushing = new(1, 1);
    private readonly Queue<UsageBatch> _unsent = new();
    private readonly string _source = $"gateway:{Environment.MachineName}:{Environment.ProcessId}";
    private bool _replayed;

    /// <summary>Batches waiting for billing (spooled or, when the spool is full, in memory only).</summary>
    public int Unsent => Volatile.Read(ref _unsentCount);

    private int _unsentCount;

    /// <summary>Flushes now; used at shutdown and by tests that need usage in billing before they look.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        await _flushing.WaitAsync(ct);
        try
        {
            if (!_replayed)
            {
                // What a previous run of this gateway left unsent goes first, with its ids.
                foreach (var left in spool.Replay())
                {
                    _unsent.Enqueue(left);
                }

                _replayed = true;
            }

            var lines = meter.Drain();
            if (lines.Count > 0)
            {
                var batch = new UsageBatch(Guid.NewGuid(), _source, lines);
                Spool(batch);
                _unsent.Enqueue(batch);
            }

            Volatile.Write(ref _unsentCount, _unsent.Count);
            while (_unsent.TryPeek(out var batch))
            {
                if (_unsent.Count > 1 && await TrySendBacklogAsync(ct))
                {
                    continue;
                }

                try
                {
                    await recorder.RecordAsync(batch, ct);
                    spool.Acknowledge(batch.BatchId);
                }
                catch (Lanes.Billing.RuleViolation refused)
                {
                    // Billing can never record this batch; retrying it would hold back every batch behind it.
                    spool.SetAside(batch, refused.Message);
                }

                _unsent.Dequeue();
                Volatile.Write(ref _unsentCount, _unsent.Count);
            }
        }
        finally
        {
            _flushing.Release();
        }
    }

    /// <summary>A backlog (batches kept while billing was away) goes in one transaction per
    /// <see cref="BacklogChunk"/> batches rather than one per batch, so it drains in seconds after an outage.</summary>
    /// <returns>False when one batch of the chunk had been recorded before or is refused: then they go one by one.</returns>
    private async Task<bool> TrySendBacklogAsync(CancellationToken ct)
    {
        var chunk = _unsent.Take(BacklogChunk).ToList();
        try
        {
            if (!await recorder.RecordAllAsync(chunk, ct))
            {
                return false;
            }
        }
        catch (Lanes.Billing.RuleViolation)
        {
            return false;
        }

        foreach (var batch in chunk)
        {
            spool.Acknowledge(batch.BatchId);
            _unsent.Dequeue();
        }

        Volatile.Write(ref _unsentCount, _unsent.Count);
        return true;
    }

    private const int BacklogChunk = 50;

    private void Spool(UsageBatch batch)
    {
        try
        {
            spool.TryWrite(batch);
        }
        catch (IOException e)
        {
            // A failing disk must not stop metering: the batch still goes to billing from memory.
            Log.SpoolFailed(logger, e);
        }
        catch (UnauthorizedAccessException e)
        {
            Log.SpoolFailed(logger, e);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.FlushInterval);
        while (await timer.TickOrStopAsync(stoppingToken))
        {
            try
            {
                await FlushAsync(stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Whatever failed (the database away, a pool exhausted, a bug), the loop goes on: a flusher that stops
                // would leave usage unsent for the rest of the process's life. The batch is kept and retried.
                Log.FlushFailed(logger, e);
            }
        }
    }

    /// <summary>At shutdown: new requests are already refused; wait for the running ones (up to the drain time),
    /// then flush what they used. Runs once, even when a host is stopped twice.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        if (!await drain.WaitAsync(gateway.Value.DrainTimeout, CancellationToken.None))
        {
            Log.DrainTimedOut(logger, gateway.Value.DrainTimeout);
        }

        await base.StopAsync(cancellationToken);
        try
        {
            // The last flush has its own time: the host's token may already be spent on the drain.
            using var flushTime = new CancellationTokenSource(FinalFlushTimeout);
            await FlushAsync(flushTime.Token);
        }
        catch (Exception e)
        {
            Log.ShutdownFlushFailed(logger, e);
        }
    }

    private int _stopped;

    /// <summary>The last flush at shutdown: short, because what it cannot send stays spooled for the next start, and
    /// the pod's grace period must cover preStop, the drain and this (infra rule).</summary>
    public static readonly TimeSpan FinalFlushTimeout = TimeSpan.FromSeconds(5);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Usage flush failed; the batch is kept and retried with the same id")]
        public static partial void FlushFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Requests still running after the drain time of {DrainTimeout}; stopping anyway")]
        public static partial void DrainTimedOut(ILogger logger, TimeSpan drainTimeout);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Usage could not be sent at shutdown; what was spooled is sent when the gateway starts again")]
        public static partial void ShutdownFlushFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4108, Level = LogLevel.Error, Message = "A usage batch could not be written to the spool; it is kept in memory until billing has it")]
        public static partial void SpoolFailed(ILogger logger, Exception exception);
    }
}
