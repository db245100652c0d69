namespace Lanes.Billing.Leases;

/// <summary>What a grant handed out, and where the holder's lease stands after it.</summary>
/// <param name="Granted">Added by this grant: 0 when less than the minimum was left.</param>
/// <param name="Held">What the holder now holds of the pool's window in all.</param>
/// <param name="Ceiling">How much of <paramref name="Held"/> the holder may spend without telling the database again.</param>
/// <param name="Left">What the pool's window had left to grant after this grant.</param>
public readonly record struct LeaseGrant(decimal Granted, decimal Held, decimal Ceiling, decimal Left = 0m);
