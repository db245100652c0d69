using Lanes.Billing.GatewayContract;
using Lanes.Inference.Infrastructure;
using Lanes.Inference.Metering;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Lanes.Inference.Budgets;

/// <summary>
/// Every second: renews this gateway's leases (its heartbeat, and the ceilings of keys and tenants spending into
/// their headroom), gives back what idle keys and tenants leased and did not use, and reclaims what gateways silent
/// for <see cref="BudgetLeaseOptions.ReclaimAfter"/> held above their ceilings. At shutdown, after the running
/// requests have drained, gives back everything it still holds unused.
/// </summary>
public sealed partial class BudgetLeaseKeeper(
    BudgetLedger ledger,
    RequestWindows requests,
    ILeasePools pools,
    RequestDrain drain,
    IOptions<Api.GatewayOptions> gateway,
    IOptions<BudgetLeaseOptions> options,
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
                await ledger.RenewAsync(stoppingToken);
                await requests.RenewAsync(stoppingToken);
                await ledger.ReturnUnusedAsync(everything: false, stoppingToken);
                await requests.ReturnUnusedAsync(everything: false, stoppingToken);
                if (await pools.ReclaimAsync(options.Value.ReclaimAfter, stoppingToken) is > 0 and var reclaimed)
                {
                    Log.Reclaimed(logger, reclaimed);
                }
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // Note: any failure, not only the database's: a keeper that stopped would stop the heartbeat and let
                // survivors take back what this gateway is still serving from.
                Log.KeepingFailed(logger, e);
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
            Log.KeepingFailed(logger, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4302, Level = LogLevel.Warning, Message = "Budget leases could not be renewed or given back now; unused leases stay counted as used until given back")]
        public static partial void KeepingFailed(ILogger logger, Exception e);

        [LoggerMessage(EventId = 4306, Level = LogLevel.Information, Message = "Reclaimed the unspendable part of {Count} leases held by gateways gone silent")]
        public static partial void Reclaimed(ILogger logger, int count);
    }
}
