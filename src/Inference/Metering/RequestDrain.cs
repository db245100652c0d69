namespace Lanes.Inference.Metering;

/// <summary>
/// Counts requests that hold a lane, so shutdown can wait for them: when the host starts stopping, new requests are
/// refused with 503 (a load balancer retries them elsewhere) and the running ones finish and are metered before the
/// last flush.
/// </summary>
public sealed class RequestDrain(IHostApplicationLifetime lifetime)
{
    private readonly Lock _lock = new();
    private int _running;
    private TaskCompletionSource? _idle;

    public bool Stopping => lifetime.ApplicationStopping.IsCancellationRequested;

    public void Enter()
    {
        lock (_lock)
        {
            _running++;
        }
    }

    public void Leave()
    {
        lock (_lock)
        {
            if (--_running == 0)
            {
                _idle?.TrySetResult();
            }
        }
    }

    /// <returns>True when every running request finished within <paramref name="timeout"/>.</returns>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        Task idle;
        lock (_lock)
        {
            if (_running == 0)
            {
                return true;
            }

            _idle ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            idle = _idle.Task;
        }

        try
        {
            await idle.WaitAsync(timeout, ct);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }
}
