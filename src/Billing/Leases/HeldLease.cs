namespace Lanes.Billing.Leases;

/// <summary>A holder's lease on one pool's window as the database has it, after a renewal.</summary>
public readonly record struct HeldLease(string Pool, DateTimeOffset WindowStart, decimal Held, decimal Ceiling);
