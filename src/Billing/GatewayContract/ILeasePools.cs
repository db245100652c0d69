using Lanes.Billing.Leases;

namespace Lanes.Billing.GatewayContract;

/// <summary>Slices of a per-window allowance (a key's budget, a tenant's requests) handed to gateways, so a gateway
/// admits requests from memory and billing still never lets the fleet spend past the allowance.</summary>
/// <remarks>Implemented by <see cref="LeasePools"/>, which states the guarantees.</remarks>
public interface ILeasePools
{
    Task<LeaseGrant> GrantAsync(
        string pool, DateTimeOffset windowStart, string holder, decimal capacity, decimal wanted, decimal minimum, decimal spendable,
        decimal alreadyUsed = 0m, Guid? budgetOfKey = null, CancellationToken ct = default);

    Task ReleaseAsync(string pool, DateTimeOffset windowStart, string holder, decimal keep, CancellationToken ct = default);

    Task<IReadOnlyList<HeldLease>> RenewAsync(string holder, IReadOnlyCollection<LeaseRenewal> leases, CancellationToken ct = default);

    Task<int> ReclaimAsync(TimeSpan silentFor, CancellationToken ct = default);

    /// <summary>Pools the holder holds part of and another holder was refused from within <paramref name="recently"/>.</summary>
    Task<IReadOnlyList<(string Pool, DateTimeOffset WindowStart)>> WantedAsync(string holder, TimeSpan recently, CancellationToken ct = default);

    /// <summary>The pool of a key's budget.</summary>
    static string ForKey(Guid keyId) => $"key:{keyId:N}";

    /// <summary>The pool of a tenant's requests per window.</summary>
    static string ForTenantRequests(Guid tenantId) => $"requests:{tenantId:N}";
}
