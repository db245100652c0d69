using Lanes.Billing.Usage;
using Lanes.Inference.Infrastructure;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Lanes.Inference.Metering;

/// <summary>Flush cadence (<c>Gateway:Metering</c>).</summary>
public sealed class MeteringOptions
{
    public const string Section = "Gateway:Metering";

    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// Sends metered usage to billing every interval and at shutdown. A batch keeps its id until billing has it, so a
/// flush retried after a timeout or a crash between commit and acknowledgement counts once.
/// </summary>
public sealed partial class UsageFlusher(
    UsageMeter meter,
    UsageRecorder recorder,
    RequestDrain drain,
    IOptions<MeteringOptions> options,
    IOptions<Api.GatewayOptions> gateway,
    ILogger<UsageFlusher> logger) : BackgroundService
{
    private readonly Queue<UsageBatch> _unsent = new();
    private readonly string _source = $"gateway:{Environment.MachineName}:{Environment.ProcessId}";

    /// <summary>Flushes now; used at shutdown and by tests that need usage in billing before they look.</summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        var lines = meter.Drain();
        if (lines.Count > 0)
        {
            lock (_unsent)
            {
                _unsent.Enqueue(new UsageBatch(Guid.NewGuid(), _source, lines));
            }
        }

        while (true)
        {
            UsageBatch? batch;
            lock (_unsent)
            {
                if (!_unsent.TryPeek(out batch))
                {
                    return;
                }
            }

            await recorder.RecordAsync(batch, ct);
            lock (_unsent)
            {
                _unsent.TryDequeue(out _);
            }
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
            catch (Exception e) when (e is NpgsqlException or TimeoutException or JasperFx.ConcurrencyException or Marten.Exceptions.MartenCommandException)
            {
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
        catch (Exception e) when (e is NpgsqlException or ObjectDisposedException or JasperFx.ConcurrencyException or Marten.Exceptions.MartenCommandException or OperationCanceledException)
        {
            Log.ShutdownFlushFailed(logger, e);
        }
    }

    private int _stopped;

    public static readonly TimeSpan FinalFlushTimeout = TimeSpan.FromSeconds(15);

    private static partial class Log
    {
        [LoggerMessage(EventId = 4101, Level = LogLevel.Warning, Message = "Usage flush failed; the batch is kept and retried with the same id")]
        public static partial void FlushFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4103, Level = LogLevel.Warning, Message = "Requests still running after the drain time of {DrainTimeout}; stopping anyway")]
        public static partial void DrainTimedOut(ILogger logger, TimeSpan drainTimeout);

        [LoggerMessage(EventId = 4102, Level = LogLevel.Error, Message = "Usage metered since the last flush could not be sent at shutdown")]
        public static partial void ShutdownFlushFailed(ILogger logger, Exception exception);
    }
}
