using System.ComponentModel.DataAnnotations;
using Lanes.Billing.Occupancy;
using Lanes.Inference.Auth;
using Lanes.Inference.Infrastructure;
using Marten;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Lanes.Inference.Lanes;

/// <summary>How gateways find each other and split reservations (<c>Gateway:Placement</c>).</summary>
public sealed class PlacementOptions
{
    public const string Section = "Gateway:Placement";

    /// <summary>A gateway that has not reported for this long is taken as gone: its lanes move to the others.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the placement is computed again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// This gateway's share of every tenant's reservation, recomputed every interval from the live gateways of its model
/// pool (their occupancy reports, which double as heartbeats) and the pool's reservations in the key directory. Until the first
/// computation, and whenever this gateway is alone, it holds every reservation whole.
/// </summary>
public sealed partial class PlacementService(
    GatewayNode node,
    KeyDirectory keys,
    LaneScheduler lanes,
    IDocumentStore store,
    IOptions<PlacementOptions> options,
    TimeProvider clock,
    ILogger<PlacementService> logger) : BackgroundService
{
    /// <summary>The last computation, published as one object so readers never see a placement with another
    /// computation's list of gateways.</summary>
    private volatile Computed? _current;

    /// <summary>The live gateways of this pool in the last computation (this one included).</summary>
    public IReadOnlyList<string> LiveNodes => _current?.Nodes ?? [];

    public int Unplaced => _current?.Placement.Unplaced ?? 0;

    /// <summary>The engine slots of this pool's live gateways in the last computation (this one included).</summary>
    public int LiveSlots => _current?.Slots ?? lanes.Slots;

    /// <summary>The tenant's reserved lanes on this gateway.</summary>
    public int ReservedHere(Guid tenantId, int reservedInTotal) =>
        _current is { Nodes.Count: > 1 } c ? c.Placement.ReservedOn(node.Id, tenantId) : reservedInTotal;

    /// <summary>Lanes reserved on this gateway by every tenant (what bursting must leave free here).</summary>
    public int ReservedByAllHere(int reservedByAll) =>
        _current is { Nodes.Count: > 1 } c ? c.Placement.ReservedByAllOn(node.Id) : reservedByAll;

    private sealed record Computed(Placement Placement, IReadOnlyList<string> Nodes, int Slots);

    public async Task RefreshAsync(CancellationToken ct)
    {
        var since = clock.GetUtcNow() - options.Value.NodeTimeout;
        await using var query = store.QuerySession();
        var reports = await query.Query<GatewayOccupancy>().Where(r => r.ReportedAt > since).ToListAsync(ct);
        var nodes = reports.Where(r => r.Id != node.Id && r.PoolId == node.Pool).Select(r => new PlacementNode(r.Id, r.Slots))
            .Append(new PlacementNode(node.Id, lanes.Slots))
            .ToList();
        var placement = LanePlacement.Place(nodes, keys.Reservations(clock.GetUtcNow()));
        if (placement.Unplaced > 0 && Unplaced == 0)
        {
            Log.Oversold(logger, placement.Unplaced, nodes.Count, node.Pool);
        }

        _current = new Computed(placement, [.. nodes.Select(n => n.Id)], nodes.Sum(n => n.Slots));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.Interval, clock);
        do
        {
            try
            {
                await RefreshAsync(stoppingToken);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or Marten.Exceptions.MartenCommandException)
            {
                // Keep the last placement: gateways that cannot see each other keep what they had.
                Log.RefreshFailed(logger, e);
            }
        }
        while (await timer.TickOrStopAsync(stoppingToken));
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4303, Level = LogLevel.Error, Message = "{Lanes} reserved lanes fit on none of the {Nodes} live gateways of pool {Pool}: the pool has lost capacity")]
        public static partial void Oversold(ILogger logger, int lanes, int nodes, string pool);

        [LoggerMessage(EventId = 4304, Level = LogLevel.Warning, Message = "Lane placement could not be refreshed; the last one stays in force")]
        public static partial void RefreshFailed(ILogger logger, Exception e);
    }
}
