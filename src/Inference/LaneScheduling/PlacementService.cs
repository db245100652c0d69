using System.ComponentModel.DataAnnotations;
using Lanes.Billing.GatewayContract;
using Lanes.Billing.Occupancy;
using Lanes.Inference.Auth;
using Lanes.Inference.Infrastructure;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Lanes.Inference.LaneScheduling;

/// <summary>
/// This gateway's share of every tenant's reservation, recomputed every interval from the live gateways of its model
/// pool (their occupancy reports, which double as heartbeats) and the pool's reservations in the key directory. Until the first
/// computation, and whenever this gateway is alone, it holds every reservation whole.
/// </summary>
public sealed partial class PlacementService(
    GatewayNode node,
    KeyDirectory keys,
    LaneScheduler lanes,
    ILaneOccupancy occupancy,
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

    /// <summary>What the tenant had running on the other live gateways of this pool at their last reports (0 when
    /// this gateway is alone). Reports are up to a report interval old: a count, not a lock.</summary>
    public int RunningElsewhere(Guid tenantId) =>
        _current is { Nodes.Count: > 1 } c && c.RunningElsewhere.TryGetValue(tenantId, out var running) ? running : 0;

    /// <summary>
    /// The slots this gateway keeps for requests within their tenant's fleet reservation beyond its share here: each
    /// tenant's whole reservation less its share here (how far a random balancer can pile its requests on this
    /// gateway), summed, within the slots no reservation here holds. Alone, none. Note: the largest excess alone
    /// was measured too little: flooding tenants hold their own excess, and the tenant that needs it most waits
    /// (docs/benchmarks.md, scale-out).
    /// </summary>
    private int SpillLanesOf(Placement placement, IReadOnlyList<(Guid Tenant, int Reserved)> reservations, int gateways)
    {
        if (gateways <= 1 || !options.Value.SpillLanes)
        {
            return 0;
        }

        var excess = reservations.Sum(r => Math.Max(0, r.Reserved - placement.ReservedOn(node.Id, r.Tenant)));
        return Math.Clamp(excess, 0, Math.Max(0, lanes.Slots - placement.ReservedByAllOn(node.Id)));
    }

    private sealed record Computed(Placement Placement, IReadOnlyList<string> Nodes, int Slots, IReadOnlyDictionary<Guid, int> RunningElsewhere);

    /// <summary>How far a peer's clock may be off this gateway's and its reports still be read.</summary>
    public static readonly TimeSpan MaxClockSkew = TimeSpan.FromMinutes(1);

    /// <summary>Each peer's last report time as it wrote it, and when this gateway saw that value change.</summary>
    private readonly Dictionary<string, (DateTimeOffset Reported, DateTimeOffset SeenAt)> _heartbeats = [];

    public async Task RefreshAsync(CancellationToken ct)
    {
        // Note: a peer is live while its report keeps changing, timed on this gateway's clock; the report's own time
        // is the peer's clock, which may be seconds off ours. Only a report older than the node timeout plus
        // MaxClockSkew by our clock is not even looked at (a peer that far off needs its clock fixed).
        var now = clock.GetUtcNow();
        var timeout = options.Value.NodeTimeout;
        var since = now - timeout - MaxClockSkew;
        var reports = await occupancy.ReportedSinceAsync(since, ct);
        var live = new List<GatewayOccupancy>();
        lock (_heartbeats)
        {
            foreach (var r in reports)
            {
                // First sight counts as a beat only when the report is recent by our clock too.
                var seenAt = _heartbeats.TryGetValue(r.Id, out var last)
                    ? last.Reported == r.ReportedAt ? last.SeenAt : now
                    : now - timeout < r.ReportedAt ? now : r.ReportedAt;
                _heartbeats[r.Id] = (r.ReportedAt, seenAt);
                if (now - seenAt <= timeout)
                {
                    live.Add(r);
                }
            }

            foreach (var gone in _heartbeats.Keys.Except(reports.Select(r => r.Id)).ToList())
            {
                _heartbeats.Remove(gone);
            }
        }

        var nodes = live.Where(r => r.Id != node.Id && r.PoolId == node.Pool).Select(r => new PlacementNode(r.Id, r.Slots))
            .Append(new PlacementNode(node.Id, lanes.Slots))
            .ToList();
        var reservations = keys.Reservations(clock.GetUtcNow());
        var placement = LanePlacement.Place(nodes, reservations);
        lanes.SetSpillLanes(SpillLanesOf(placement, reservations, nodes.Count));
        if (placement.Unplaced > 0 && Unplaced == 0)
        {
            Log.Oversold(logger, placement.Unplaced, nodes.Count, node.Pool);
        }

        var elsewhere = live.Where(r => r.Id != node.Id && r.PoolId == node.Pool)
            .SelectMany(r => r.Tenants)
            .GroupBy(t => t.TenantId)
            .ToDictionary(g => g.Key, g => g.Sum(t => t.InUse));
        _current = new Computed(placement, [.. nodes.Select(n => n.Id)], nodes.Sum(n => n.Slots), elsewhere);
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
            catch (Exception e) when (!stoppingToken.IsCancellationRequested)
            {
                // Any failure (a connection broken mid-transaction surfaces as ObjectDisposedException, not only
                // NpgsqlException); keep the last placement: gateways that cannot see each other keep what they had.
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
