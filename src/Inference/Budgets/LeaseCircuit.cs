using Microsoft.Extensions.Options;

namespace Lanes.Inference.Budgets;

/// <summary>
/// The database calls a request waits on (a lease, a ceiling raised on demand): each is bounded by
/// <see cref="BudgetLeaseOptions.DatabaseTimeout"/>, and after one fails the circuit stays open for
/// <see cref="BudgetLeaseOptions.RetryAfter"/>, refusing at once, then lets one call through to try again. So a
/// database that is gone or silent costs a request microseconds and a 503, not a connection timeout, and the
/// gateway does not pile up waiters on it.
/// </summary>
public sealed class LeaseCircuit(IOptions<BudgetLeaseOptions> options, TimeProvider clock)
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
                throw new TimeoutException("The budget database failed a moment ago; not asking it again yet.");
            }

            probe = _openUntil != DateTimeOffset.MinValue;
            _probing |= probe;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(options.Value.DatabaseTimeout);
        var pending = call(timeout.Token);
        try
        {
            // Note: not only the token. Npgsql does not always stop on it (a connection whose peer went silent while
            // opening, or a cancel request that is itself dropped), so the request stops waiting here regardless.
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
            throw new TimeoutException($"The budget database did not answer within {options.Value.DatabaseTimeout.TotalMilliseconds:0} ms.");
        }
        catch (Npgsql.PostgresException e) when (e.SqlState.StartsWith("40", StringComparison.Ordinal))
        {
            // A deadlock or serialization failure: the database is there, this call lost a race; the next one runs.
            throw new TimeoutException("The budget database asked for this lease to be tried again.", e);
        }
        catch (Exception e) when (e is Npgsql.NpgsqlException or TimeoutException)
        {
            Open();
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
}
