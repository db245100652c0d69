namespace Lanes.Billing.Subscriptions;

/// <summary>A staff override to set with another change (lanes until an expiry, with the reason and who).</summary>
public sealed record ReservationChange(int Lanes, DateTimeOffset? Until, string Reason, string StaffId);
