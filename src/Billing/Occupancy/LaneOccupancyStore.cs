using Lanes.Billing.GatewayContract;
using Lanes.Billing.Tenants;
using Marten;

namespace Lanes.Billing.Occupancy;

public sealed class LaneOccupancyStore(IDocumentStore store, TimeProvider clock) : ILaneOccupancy
{
    /// <summary>Reports older than this come from a gateway that stopped; they are ignored.</summary>
    public static readonly TimeSpan Freshness = TimeSpan.FromSeconds(15);

    public async Task ReportAsync(GatewayOccupancy report, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession();
        session.Store(report);
        await session.SaveChangesAsync(ct);
    }

    /// <summary>Removes a gateway's report when it stops cleanly.</summary>
    public async Task LeaveAsync(string gatewayId, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession();
        session.Delete<GatewayOccupancy>(gatewayId);
        await session.SaveChangesAsync(ct);
    }

    public async Task<IReadOnlyList<GatewayOccupancy>> ReportedSinceAsync(DateTimeOffset since, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        return await query.Query<GatewayOccupancy>().Where(r => r.ReportedAt > since).ToListAsync(ct);
    }

    /// <summary>Support and dashboards: one tenant's share of every fresh report. Crosses gateways, never tenants:
    /// only the named tenant's entries are returned.</summary>
    public async Task<LaneUseNow> ForTenantAsync(Guid tenantId, DateTimeOffset windowStart, CancellationToken ct = default)
    {
        var since = clock.GetUtcNow() - Freshness;
        await using var query = store.QuerySession();
        var reports = await query.Query<GatewayOccupancy>().Where(r => r.ReportedAt > since).ToListAsync(ct);
        var mine = reports.SelectMany(r => r.Tenants).Where(t => t.TenantId == tenantId).ToList();
        return new LaneUseNow(
            mine.Sum(t => t.InUse), mine.Sum(t => t.Queued), mine.Where(t => t.WindowStart == windowStart).Sum(t => t.RequestsInWindow), reports.Count);
    }
}
