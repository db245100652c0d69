using Lanes.Billing.GatewayContract;
using Lanes.Billing.Occupancy;
using Lanes.Inference.Budgets;
using Lanes.Inference.Infrastructure;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Lanes.Inference.LaneScheduling;

/// <summary>
/// Publishes this gateway's lane occupancy (per tenant: in use, queued, requests started this window) to PostgreSQL
/// every interval, so the portal's dashboard shows the lanes of every gateway without calling any of them.
/// </summary>
public sealed partial class OccupancyReporter(
    GatewayNode node,
    LaneScheduler lanes,
    RequestWindows windows,
    PlacementService placement,
    Auth.KeyDirectory keys,
    ILaneOccupancy store,
    IOptions<LaneOptions> options,
    Engine.IInferenceEngine engine,
    TimeProvider clock,
    ILogger<OccupancyReporter> logger) : BackgroundService
{
    private IReadOnlyList<string>? _models;

    public GatewayOccupancy Snapshot()
    {
        var counts = windows.Counts().ToDictionary(c => c.Tenant);
        var occupancy = lanes.Occupancy().ToDictionary(o => o.Tenant);
        var reserved = keys.Reservations(clock.GetUtcNow()).ToDictionary(r => r.Tenant, r => placement.ReservedHere(r.Tenant, r.Reserved));
        var tenants = counts.Keys.Union(occupancy.Keys).Union(reserved.Keys)
            .Select(t =>
            {
                var (_, inUse, queued) = occupancy.GetValueOrDefault(t);
                var (_, windowStart, used) = counts.GetValueOrDefault(t);
                return new TenantOccupancy(t, inUse, queued, windowStart, used, reserved.GetValueOrDefault(t));
            })
            .Where(t => t.InUse > 0 || t.Queued > 0 || t.RequestsInWindow > 0 || t.Reserved > 0)
            .ToList();
        return new GatewayOccupancy(node.Id, clock.GetUtcNow(), lanes.Slots, tenants, node.Pool, _models ??= [.. engine.Models.Select(m => m.Id)]);
    }

    /// <summary>Tenants idle on this gateway this long leave the scheduler's memory.</summary>
    private static readonly TimeSpan ForgetAfter = TimeSpan.FromMinutes(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.OccupancyReportInterval, clock);
        do
        {
            try
            {
                lanes.ForgetIdle(ForgetAfter);
                await store.ReportAsync(Snapshot(), stoppingToken);
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Any failure, not only the database's (a connection broken mid-transaction surfaces as
                // ObjectDisposedException): a reporter that stopped would stop the host, and with it the serving.
                Log.ReportFailed(logger, e);
            }
        }
        while (await timer.TickOrStopAsync(stoppingToken));
    }

    /// <summary>A gateway that stops cleanly leaves the fleet at once, so its lanes move without waiting for the
    /// node timeout.</summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await store.LeaveAsync(node.Id, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or OperationCanceledException or ObjectDisposedException or Marten.Exceptions.MartenCommandException)
        {
            Log.ReportFailed(logger, e);
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4301, Level = LogLevel.Warning, Message = "Lane occupancy could not be reported; the portal shows the last report until it is stale.")]
        public static partial void ReportFailed(ILogger logger, Exception e);
    }
}
