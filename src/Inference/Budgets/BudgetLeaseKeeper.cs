using Lanes.Inference.Infrastructure;
using Lanes.Inference.Metering;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Lanes.Inference.Budgets;

/// <summary>
/// Gives back, every second, what this gateway leased of idle keys' budgets and idle tenants' requests per window and
/// did not use; at shutdown, after the running requests have drained, gives back everything it still holds unused.
/// </summary>
public sealed partial class BudgetLeaseKeeper(
    BudgetLedger ledger,
    RequestWindows requests,
    RequestDrain drain,
    IOptions<Api.GatewayOptions> gateway,
    TimeProvider clock,
    ILogger<BudgetLeaseKeeper> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromSeconds(1), clock);
        while (await timer.TickOrStopAsync(stoppingToken))
        {
            try
            {
                await ledger.ReturnUnusedAsync(everything: false, stoppingToken);
                await requests.ReturnUnusedAsync(everything: false, stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException)
            {
                Log.ReturnFailed(logger, e);
            }
        }
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await drain.WaitAsync(gateway.Value.DrainTimeout, CancellationToken.None);
        await base.StopAsync(cancellationToken);
        try
        {
            using var time = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await ledger.ReturnUnusedAsync(everything: true, time.Token);
            await requests.ReturnUnusedAsync(everything: true, time.Token);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException or ObjectDisposedException)
        {
            Log.ReturnFailed(logger, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4302, Level = LogLevel.Warning, Message = "Unused budget leases could not be given back now; they stay counted as used until given back")]
        public static partial void ReturnFailed(ILogger logger, Exception e);
    }
}
