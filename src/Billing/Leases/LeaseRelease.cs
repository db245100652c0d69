namespace Lanes.Billing.Leases;

/// <summary>What a holder gives back of one lease: everything above <paramref name="Keep"/>.</summary>
public readonly record struct LeaseRelease(string Pool, DateTimeOffset WindowStart, decimal Keep);
