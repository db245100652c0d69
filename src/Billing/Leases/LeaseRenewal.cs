namespace Lanes.Billing.Leases;

/// <summary>What a holder asks at a renewal: to be allowed to spend up to <paramref name="Spendable"/> of its lease.</summary>
public readonly record struct LeaseRenewal(string Pool, DateTimeOffset WindowStart, decimal Spendable);
