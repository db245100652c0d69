namespace Lanes.Inference.Infrastructure;

public static class PeriodicTimerExtensions
{
    /// <summary>The next tick, or false once <paramref name="ct"/> asks the loop to stop (no exception for a normal stop).</summary>
    public static async Task<bool> TickOrStopAsync(this PeriodicTimer timer, CancellationToken ct)
    {
        try
        {
            return await timer.WaitForNextTickAsync(ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            return false;
        }
    }
}
