using Microsoft.Extensions.Options;

namespace Lanes.Inference.Budgets;

/// <summary>
/// The database calls a request waits on (a lease, a ceiling raised on demand): each is bounded by
/// <see cref="BudgetLeaseOptions.DatabaseTimeout"/>, and after one fails the circuit stays open for
/// <see cref="BudgetLeaseOptions.RetryAfter"/>, refusing at once, then lets one call through to try again. So a
/// database that is gone or silent costs a request microseconds and a 503, not a connection timeout, and the
/// gateway does not pile up waiters on it.
/// </summary>
public sealed partial class LeaseCircuit(IOptions<BudgetLeaseOptions> options, TimeProvider clock, ILogger<LeaseCircuit> logger)
{
    private readonly object _gate = new();
    private DateTimeOffset _openUntil = DateTimeOffset.MinValue;
    private bool _probing;

    /// <exception cref="TimeoutException">The circuit is open, or the call took longer than the timeout.</exception>
    public async Task<T> CallAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        bool probe;
        lock (_gate)
        {
            var now = clock.GetUtcNow();
            if (now < _openUntil || (_probing && _openUntil != DateTimeOffset.MinValue))
            {
                Log.RefusedAtOnce(logger, Math.Max(0, (_openUntil - now).TotalMilliseconds));
                throw new TimeoutException("The budget database failed a moment ago; not asking it again yet.");
            }

            probe = _openUntil != DateTimeOffset.MinValue;
            _probing |= probe;
        }

        var started = clock.GetTimestamp();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Value.DatabaseTimeout);
        var pending = call(timeout.Token);
        try
        {
            // Note: not only the token. Npgsql does not always stop on it (a connection whose peer went silent while
            // opening, or one still reading the reset it sends after a connection comes back to the pool), so the
            // request stops waiting here regardless.
            var result = await pending.WaitAsync(options.Value.DatabaseTimeout, clock, ct);
            Close();
            return result;
        }
        catch (Exception e) when ((e is OperationCanceledException || (e is TimeoutException && !pending.IsCompleted)) && !ct.IsCancellationRequested)
        {
            // The abandoned call ends on its own (its token cancelled before the source is disposed); its failure is
            // observed, not lost.
            await timeout.CancelAsync();
            _ = pending.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            Open();
            Log.TimedOut(logger, clock.GetElapsedTime(started).TotalMilliseconds, options.Value.RetryAfter.TotalMilliseconds);
            throw new TimeoutException($"The budget database did not answer within {options.Value.DatabaseTimeout.TotalMilliseconds:0} ms.");
        }
        catch (Npgsql.PostgresException e) when (e.SqlState.StartsWith("40", StringComparison.Ordinal))
        {
            // A deadlock or serialization failure: the database is there, this call lost a race; the next one runs.
            Log.LostRace(logger, e.SqlState, clock.GetElapsedTime(started).TotalMilliseconds);
            throw new TimeoutException("The budget database asked for this lease to be tried again.", e);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            Open();
            Log.Failed(logger, clock.GetElapsedTime(started).TotalMilliseconds, options.Value.RetryAfter.TotalMilliseconds, e);
            throw;
        }
        finally
        {
            if (probe)
            {
                lock (_gate)
                {
                    _probing = false;
                }
            }
        }
    }

    private void Open()
    {
        lock (_gate)
        {
            _openUntil = clock.GetUtcNow() + options.Value.RetryAfter;
        }
    }

    private void Close()
    {
        lock (_gate)
        {
            _openUntil = DateTimeOffset.MinValue;
        }
    }

    /// <summary>What an operator reads when requests get 503 <c>budget_unavailable</c>: why, and after how long.
    /// Nothing about the request (no key, no pool) is logged.</summary>
    private static partial class Log
    {
        [LoggerMessage(EventId = 4307, Level = LogLevel.Warning,
            Message = "The budget database did not answer a lease call in {WaitedMs:0} ms; requests needing a lease are refused for {RetryAfterMs:0} ms")]
        public static partial void TimedOut(ILogger logger, double waitedMs, double retryAfterMs);

        [LoggerMessage(EventId = 4308, Level = LogLevel.Warning,
            Message = "A lease call to the budget database failed after {WaitedMs:0} ms; requests needing a lease are refused for {RetryAfterMs:0} ms")]
        public static partial void Failed(ILogger logger, double waitedMs, double retryAfterMs, Exception e);

        [LoggerMessage(EventId = 4309, Level = LogLevel.Warning,
            Message = "A lease call lost a race in the budget database (SQLSTATE {SqlState}) after {WaitedMs:0} ms; its request was refused")]
        public static partial void LostRace(ILogger logger, string sqlState, double waitedMs);

        [LoggerMessage(EventId = 4310, Level = LogLevel.Debug,
            Message = "A lease call was refused at once: the budget database failed a moment ago ({LeftMs:0} ms until it is asked again; 0 while another call is asking it)")]
        public static partial void RefusedAtOnce(ILogger logger, double leftMs);
    }
}
