using Marten;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lanes.Billing.Infrastructure;

/// <summary>
/// Applies the Marten schema at start when the database answers, and starts anyway when it does not: a gateway that
/// can serve from what it keeps locally (keys, the usage spool) must not be held down by a migration. Production
/// gateways do not apply schemas at all (<c>Database:ApplySchema=false</c>); this is for one-process setups.
/// </summary>
internal sealed partial class BestEffortSchema(IDocumentStore store, ILogger<BestEffortSchema> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await store.Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log.Skipped(logger, e);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private static partial class Log
    {
        [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "The database schema could not be applied at start; starting without it")]
        public static partial void Skipped(ILogger logger, Exception exception);
    }
}
