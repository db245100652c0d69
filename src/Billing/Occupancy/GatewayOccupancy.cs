namespace Lanes.Billing.Occupancy;

/// <summary>
/// What one gateway reports every few seconds (one global document per gateway process, overwritten). The portal
/// adds up fresh reports to show lanes in use and queued now; a gateway that stops reporting drops out on its own.
/// The report also says which model pool the gateway is in and which models its engine serves: capacity is the
/// live gateways' slots per pool.
/// </summary>
public sealed record GatewayOccupancy(
    string Id, DateTimeOffset ReportedAt, int Slots, IReadOnlyList<TenantOccupancy> Tenants, string? Pool = null, IReadOnlyList<string>? Models = null)
{
    /// <summary>The pool, for reports written before gateways named one.</summary>
    public string PoolId => Pool ?? Lanes.Shared.Plans.ModelPools.Default;
}
