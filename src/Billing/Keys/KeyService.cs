using Lanes.Billing.Infrastructure;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Lanes.Shared.Keys;
using Lanes.Shared.Plans;
using Lanes.Shared.Pricing;
using Marten;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Keys;

/// <summary>An issued key: the secret is returned here once and never again.</summary>
public sealed record IssuedKey(ApiKey Key, string Secret);

/// <summary>Issues, changes and revokes a tenant's API keys. Sessions are opened for the tenant named.</summary>
public sealed class KeyService(IDocumentStore store, KeyUsage usage, TimeProvider clock, PlanCatalog plans, PriceTable prices, IOptions<KeyOptions> options)
{
    private readonly byte[] _pepper = options.Value.PepperBytes();

    public string HashOf(string secret) => ApiKeySecret.Hash(secret, _pepper);

    public async Task<IssuedKey> IssueAsync(Guid tenantId, KeyRequest request, string createdBy, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession(Tenant.MartenTenantOf(tenantId));
        var subscription = await session.LoadAsync<Subscription>(SubscriptionStreams.For(tenantId), ct);
        if (subscription is not { IsLive: true })
        {
            throw new RuleViolation("subscription_inactive", "Keys can only be created while the tenant has a live subscription.");
        }

        var plan = plans.Find(subscription.PlanId);
        var secret = ApiKeySecret.Generate();
        var issued = KeyDecisions.Issue(
            Guid.CreateVersion7(clock.GetUtcNow()), tenantId, request,
            plan?.DefaultKeyBudgetUsd ?? 0m, subscription.WindowLength, prices.Knows,
            ApiKeySecret.PrefixOf(secret), HashOf(secret), createdBy, clock.GetUtcNow());
        session.Events.StartStream<ApiKey>(issued.KeyId, issued);
        await session.SaveChangesAsync(ct);
        return new IssuedKey(ApiKey.Create(issued), secret);
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync(Guid tenantId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await usage.ReadOntoAsync(await query.Query<ApiKey>().OrderByDescending(k => k.CreatedAt).ToListAsync(ct), ct: ct);
    }

    /// <summary>One page of the tenant's keys, newest first; asks for one more than <paramref name="take"/> so the
    /// caller knows whether another page follows.</summary>
    public async Task<IReadOnlyList<ApiKey>> PageAsync(Guid tenantId, int skip, int take, CancellationToken ct = default)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await usage.ReadOntoAsync(
            await query.Query<ApiKey>().OrderByDescending(k => k.CreatedAt).ThenByDescending(k => k.Id).Skip(skip).Take(take + 1).ToListAsync(ct), ct: ct);
    }

    public async Task<ApiKey?> FindAsync(Guid tenantId, Guid keyId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await query.LoadAsync<ApiKey>(keyId, ct) is { } key ? (await usage.ReadOntoAsync([key], ct: ct))[0] : null;
    }

    /// <summary>Staff and operator lookup by id or visible prefix, across every tenant.</summary>
    public async Task<IReadOnlyList<ApiKey>> FindAcrossTenantsAsync(string idOrPrefix, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        if (Guid.TryParse(idOrPrefix, out var id))
        {
            return await usage.ReadOntoAsync(await query.Query<ApiKey>().Where(k => k.AnyTenant() && k.Id == id).ToListAsync(ct), ct: ct);
        }

        return idOrPrefix.Length < 8
            ? []
            : await usage.ReadOntoAsync(await query.Query<ApiKey>().Where(k => k.AnyTenant() && k.Prefix.StartsWith(idOrPrefix)).Take(20).ToListAsync(ct), ct: ct);
    }

    public Task<ApiKey> ChangeBudgetAsync(Guid tenantId, Guid keyId, decimal budgetUsd, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, keyId, k => KeyDecisions.ChangeBudget(k, budgetUsd, by, clock.GetUtcNow()), ct);

    public Task<ApiKey> RevokeAsync(Guid tenantId, Guid keyId, RevocationReason reason, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, keyId, k => KeyDecisions.Revoke(k, reason, by, clock.GetUtcNow()), ct);

    /// <summary>Brings back every key the end of the subscription revoked at or after <paramref name="endedAt"/>
    /// (keys revoked before, by people or expiry, stay revoked).</summary>
    public async Task<int> RestoreAfterSubscriptionEndedAsync(Guid tenantId, DateTimeOffset endedAt, string reason, string by, CancellationToken ct = default)
    {
        var restored = 0;
        foreach (var key in (await ListAsync(tenantId, ct)).Where(k => k is { State: KeyState.Revoked, RevokedFor: RevocationReason.SubscriptionEnded } && k.RevokedAt >= endedAt))
        {
            await WriteAsync(tenantId, key.Id, k => KeyDecisions.Restore(k, reason, by, clock.GetUtcNow()), ct);
            restored++;
        }

        return restored;
    }

    /// <summary>Replaces the secret; the old one keeps working for <paramref name="grace"/> (default from options).</summary>
    public async Task<IssuedKey> RotateAsync(Guid tenantId, Guid keyId, string by, TimeSpan? grace = null, CancellationToken ct = default)
    {
        var secret = ApiKeySecret.Generate();
        var key = await WriteAsync(tenantId, keyId, k => KeyDecisions.Rotate(
            k, ApiKeySecret.PrefixOf(secret), HashOf(secret), grace ?? options.Value.RotationGrace, by, clock.GetUtcNow()), ct);
        return new IssuedKey(key, secret);
    }

    /// <summary>
    /// Reads the key, decides and appends at the version read. The window job and other people write the same
    /// stream, so a revocation or budget change can lose that race: it is then decided again on the fresh state
    /// (the decision is pure, so re-deciding is safe) after a short random pause, instead of surfacing a concurrency
    /// error to the person. The key comes back with its recorded usage, as the pages show it.
    /// </summary>
    private async Task<ApiKey> WriteAsync(Guid tenantId, Guid keyId, Func<ApiKey, object> decide, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var session = store.LightweightSession(Tenant.MartenTenantOf(tenantId));
            var stream = await session.Events.FetchForWriting<ApiKey>(keyId, ct);
            var key = stream.Aggregate ?? throw new NotFound("API key");
            var e = decide(key);
            stream.AppendOne(e);
            try
            {
                await session.SaveChangesAsync(ct);
                return (await usage.ReadOntoAsync([ApiKeyEvents.After(key, e)], ct: ct))[0];
            }
            catch (Exception conflict) when (Conflicts.IsRetryable(conflict) && attempt < WriteAttempts)
            {
                // Another writer (the window job, another person) appended first: read again and decide again.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 * attempt)), ct); // Real time: a back-off, not business time.
            }
        }
    }

    private const int WriteAttempts = 20;
}
