namespace Lanes.Billing.Occupancy;

/// <summary>One tenant's lanes on one gateway at a moment: running, waiting, requests started this window, and the
/// share of its reservation placed on this gateway.</summary>
public sealed record TenantOccupancy(Guid TenantId, int InUse, int Queued, DateTimeOffset WindowStart, long RequestsInWindow, int Reserved = 0);
