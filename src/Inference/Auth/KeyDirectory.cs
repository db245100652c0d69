using System.Collections.Concurrent;
using Lanes.Billing.GatewayContract;
using Lanes.Billing.Keys;
using Lanes.Shared.Keys;
using Lanes.Shared.Plans;

namespace Lanes.Inference.Auth;

/// <summary>
/// Key status and tenant lanes held in memory, so authenticating a request never waits on the database.
/// Filled at start and kept current by <see cref="KeyDirectoryRefresher"/>.
/// </summary>
public sealed class KeyDirectory
{
    private readonly ConcurrentDictionary<string, KeyStatus> _byHash = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Guid, KeyStatus> _byId = new();
    private readonly ConcurrentDictionary<Guid, TenantReservation> _tenants = new();
    private readonly byte[] _pepper;
    private readonly ThreadLocal<System.Security.Cryptography.IncrementalHash> _hmac;

    private readonly PlanCatalog _plans;
    private readonly string _pool;

    public KeyDirectory(Microsoft.Extensions.Options.IOptions<KeyOptions> options, PlanCatalog plans, Infrastructure.GatewayNode node)
    {
        _pepper = options.Value.PepperBytes();
        _hmac = new ThreadLocal<System.Security.Cryptography.IncrementalHash>(
            () => System.Security.Cryptography.IncrementalHash.CreateHMAC(System.Security.Cryptography.HashAlgorithmName.SHA256, _pepper));
        _plans = plans;
        _pool = node.Pool;
    }

    public int KeyCount => _byId.Count;

    private long _version;

    /// <summary>Moves on every change, so the snapshot is written only when there is something new.</summary>
    public long Version => Interlocked.Read(ref _version);

    public IReadOnlyList<KeyStatus> Keys => [.. _byId.Values];

    public IReadOnlyList<TenantReservation> Tenants => [.. _tenants.Values];

    private int _totalReserved;

    /// <summary>Total lanes reserved by every live tenant: what bursting must leave free. Kept as a running figure
    /// (recounted on every change and every refresh, when overrides may have expired) so admission stays O(1).</summary>
    public int TotalReservedLanes => Volatile.Read(ref _totalReserved);

    public void RecountReservations(DateTimeOffset now) =>
        Volatile.Write(ref _totalReserved, _tenants.Values.Sum(s => ReservedInPool(s, now)));

    /// <summary>The tenant's reserved lanes in this gateway's model pool: all of them when its plan is in the pool,
    /// none otherwise (its lanes are on another pool's gateways; here it can only burst).</summary>
    public int ReservedInPool(TenantReservation tenant, DateTimeOffset now) =>
        ModelPools.Of(_plans.Find(tenant.PlanId)) == _pool ? tenant.ReservedLanesAt(now) : 0;

    /// <summary>The key a secret belongs to: by its current hash, or by its previous one during a rotation's grace.</summary>
    public KeyStatus? Find(string? secret, DateTimeOffset now) => secret is null ? null : Find(secret.AsSpan(), now);

    /// <inheritdoc cref="Find(string?, DateTimeOffset)"/>
    public KeyStatus? Find(ReadOnlySpan<char> secret, DateTimeOffset now)
    {
        // Hashed and looked up without allocating: every request comes through here.
        Span<char> hash = stackalloc char[ApiKeySecret.HashLength];
        return TryHash(secret, hash) ? FindByHash(hash, now) : null;
    }

    /// <summary>The keyed hash of a secret that has the shape of a key (false otherwise), computed with this
    /// thread's HMAC instance: keying a new one for every request cost more than the rest of authentication.</summary>
    public bool TryHash(ReadOnlySpan<char> secret, Span<char> hash)
    {
        if (!ApiKeySecret.LooksValid(secret))
        {
            return false;
        }

        ApiKeySecret.Hash(secret, _hmac.Value!, hash);
        return true;
    }

    /// <summary>The key whose secret has this hash: by its current hash, or by its previous one during a rotation's
    /// grace. The key's state is whatever it is now; only the hash may come from an earlier request.</summary>
    public KeyStatus? FindByHash(ReadOnlySpan<char> hash, DateTimeOffset now) =>
        _byHash.GetAlternateLookup<ReadOnlySpan<char>>().TryGetValue(hash, out var key)
        && (hash.SequenceEqual(key.SecretHash) || key.PreviousSecretValidUntil > now)
            ? key
            : null;

    public TenantReservation? ReservationOf(Guid tenantId) => _tenants.GetValueOrDefault(tenantId);

    /// <summary>Every tenant's reservation in this gateway's model pool now, for lane placement across the pool's
    /// gateways.</summary>
    public IReadOnlyList<(Guid Tenant, int Reserved)> Reservations(DateTimeOffset now) =>
        [.. _tenants.Values.Select(s => (s.TenantId, ReservedInPool(s, now))).Where(r => r.Item2 > 0)];

    /// <summary>How long a revoked key is kept, so its secret is answered "revoked on …" rather than "incorrect".
    /// Note: past this it is dropped, so the directory does not grow with every key ever issued.</summary>
    public static readonly TimeSpan RevokedKeptFor = TimeSpan.FromDays(30);

    /// <summary>Drops keys revoked longer ago than <see cref="RevokedKeptFor"/> (run by the refresher's resync).</summary>
    public int EvictRevoked(DateTimeOffset now)
    {
        var evicted = 0;
        foreach (var key in _byId.Values.Where(k => IsLongRevoked(k, now)).ToList())
        {
            Remove(key);
            evicted++;
        }

        return evicted;
    }

    private static bool IsLongRevoked(KeyStatus key, DateTimeOffset now) =>
        key.State == KeyState.Revoked && key.RevokedAt is { } at && now - at > RevokedKeptFor;

    private void Remove(KeyStatus key)
    {
        if (_byId.TryRemove(key.Id, out var held))
        {
            foreach (var hash in new[] { held.SecretHash, held.PreviousSecretHash })
            {
                if (hash is not null)
                {
                    _byHash.TryRemove(new KeyValuePair<string, KeyStatus>(hash, held));
                }
            }

            Interlocked.Increment(ref _version);
        }
    }

    /// <summary>Adds or replaces a key; a key revoked longer ago than <see cref="RevokedKeptFor"/> is dropped instead
    /// (and comes back if it is ever restored, since the restore changes it).</summary>
    public void Upsert(KeyStatus key, DateTimeOffset now)
    {
        if (IsLongRevoked(key, now))
        {
            if (_byId.TryGetValue(key.Id, out var held))
            {
                Remove(held);
            }

            return;
        }

        Upsert(key);
    }

    public void Upsert(KeyStatus key)
    {
        // New hashes first, then drop only the ones the key no longer has: a request arriving meanwhile never
        // finds its key missing.
        _byId.TryGetValue(key.Id, out var old);
        _byId[key.Id] = key;
        Interlocked.Increment(ref _version);
        _byHash[key.SecretHash] = key;
        if (key.PreviousSecretHash is { } hash)
        {
            _byHash[hash] = key;
        }

        foreach (var stale in new[] { old?.SecretHash, old?.PreviousSecretHash })
        {
            if (stale is not null && stale != key.SecretHash && stale != key.PreviousSecretHash)
            {
                _byHash.TryRemove(stale, out _);
            }
        }
    }

    public void Upsert(TenantReservation tenant)
    {
        _tenants[tenant.TenantId] = tenant;
        Interlocked.Increment(ref _version);
    }
}
