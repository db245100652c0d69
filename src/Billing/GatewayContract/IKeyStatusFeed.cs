namespace Lanes.Billing.GatewayContract;

/// <summary>Every key and tenant reservation, and the position in billing's change feed they were read at.</summary>
public sealed record KeyStatusLoad(long Position, IReadOnlyList<KeyStatus> Keys, IReadOnlyList<TenantReservation> Tenants);

/// <summary>What changed in a stretch of the feed: the keys and tenants to take again, the feed positions that turned
/// out to hold a change (whether or not it concerned keys), and the position read up to.</summary>
public sealed record KeyStatusChanges(long Position, IReadOnlySet<long> Present, IReadOnlyList<KeyStatus> Keys, IReadOnlyList<TenantReservation> Tenants);

/// <summary>Keys and tenant reservations read again, whatever the feed said.</summary>
public sealed record KeyStatusReread(IReadOnlyList<KeyStatus> Keys, IReadOnlyList<TenantReservation> Tenants);

/// <summary>
/// The lifecycle of keys and subscriptions as a gateway follows it, in the narrow shapes it needs (<see cref="KeyStatus"/>,
/// <see cref="TenantReservation"/>): issued, budget changed, rotated, revoked; plan and
/// reservation changes. Usage and window bookkeeping is left out: the gateway counts spend itself.
/// </summary>
/// <remarks>Positions are taken when a transaction writes, not when it commits, so a slow commit can appear below a
/// position already read: a follower asks again for the positions it found empty (<c>awaited</c>).</remarks>
public interface IKeyStatusFeed
{
    Task<KeyStatusLoad> LoadAllAsync(CancellationToken ct);

    /// <summary>Changes after <paramref name="after"/>, and at any of <paramref name="awaited"/>.</summary>
    Task<KeyStatusChanges> ChangesAsync(long after, IReadOnlyCollection<long> awaited, CancellationToken ct);

    /// <summary>Every key and tenant reservation written since <paramref name="since"/>, whatever the feed said: the
    /// follower's safety net.</summary>
    Task<KeyStatusReread> WrittenSinceAsync(DateTimeOffset since, CancellationToken ct);
}
