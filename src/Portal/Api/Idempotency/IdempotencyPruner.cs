using Lanes.Portal.Identity;
using Microsoft.EntityFrameworkCore;
using Npgsql;

namespace Lanes.Portal.Api.Idempotency;

/// <summary>
/// Deletes stored idempotent responses older than <see cref="Kept"/>, hourly. Note: a stored response can hold a new
/// key's secret (sealed); keeping it no longer than a retry needs limits what an old database copy could ever reveal.
/// </summary>
public sealed partial class IdempotencyPruner(IServiceScopeFactory scopes, TimeProvider clock, ILogger<IdempotencyPruner> logger) : BackgroundService
{
    public static readonly TimeSpan Kept = TimeSpan.FromHours(24);

    public async Task<int> PruneAsync(CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var before = clock.GetUtcNow() - Kept;
        return await scope.ServiceProvider.GetRequiredService<IdentityStore>().IdempotencyRecords
            .Where(r => r.CreatedAt < before)
            .ExecuteDeleteAsync(ct);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), clock);
        try
        {
            do
            {
                try
                {
                    await PruneAsync(stoppingToken);
                }
                catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException && !stoppingToken.IsCancellationRequested)
                {
                    Log.PruneFailed(logger, e);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5004, Level = LogLevel.Warning, Message = "Old idempotency records could not be pruned; next try in an hour")]
        public static partial void PruneFailed(ILogger logger, Exception e);
    }
}
