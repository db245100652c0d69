using Lanes.Billing.Occupancy;

namespace Lanes.Billing.GatewayContract;

/// <summary>Where each gateway says, every few seconds, what its lanes are doing: the fleet's capacity, lane placement
/// and the portal's "lanes in use now" are read from it.</summary>
public interface ILaneOccupancy
{
    Task ReportAsync(GatewayOccupancy report, CancellationToken ct = default);

    Task LeaveAsync(string gatewayId, CancellationToken ct = default);

    /// <summary>Every gateway's last report, when written after <paramref name="since"/> by the reporter's clock.</summary>
    Task<IReadOnlyList<GatewayOccupancy>> ReportedSinceAsync(DateTimeOffset since, CancellationToken ct = default);
}
