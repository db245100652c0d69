namespace Lanes.Billing.Occupancy;

/// <summary>Lanes in use and queued for a tenant across every live gateway, and requests started in the window.</summary>
public sealed record LaneUseNow(int InUse, int Queued, long RequestsInWindow, int Gateways);
