using JasperFx;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Marten;
using Microsoft.Extensions.Logging;

namespace Lanes.Billing.Jobs;

/// <summary>Revokes the keys the clock has decided on: those of ended subscriptions, and those past their expiry.
/// Each revocation is written with optimistic concurrency, so overlapping runs revoke each key once.</summary>
public sealed partial class DueKeys(IDocumentStore store, TimeProvider clock, KeyService keys, ILogger<DueKeys> logger)
{
    /// <summary>Keys die when the subscription ends, however it ended (lapsed, cancelled in Stripe, ended by staff).</summary>
    public async Task<int> RevokeKeysOfEndedSubscriptionsAsync(CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        var endedTenants = (await query.Query<Subscription>()
            .Where(s => s.AnyTenant() && s.Status == SubscriptionStatus.Ended)
            .Select(s => s.TenantId)
            .ToListAsync(ct)).ToArray();
        var active = endedTenants.Length == 0 ? [] : await query.Query<ApiKey>()
            .Where(k => k.AnyTenant() && k.State == KeyState.Active && k.TenantId.IsOneOf(endedTenants))
            .ToListAsync(ct);
        return await RevokeAsync(active, RevocationReason.SubscriptionEnded, ct);
    }

    /// <summary>Keys past the expiry their creator set.</summary>
    public async Task<int> ExpireKeysAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        await using var query = store.QuerySession();
        var expired = await query.Query<ApiKey>()
            .Where(k => k.AnyTenant() && k.State == KeyState.Active && k.ExpiresAt != null && k.ExpiresAt <= now)
            .ToListAsync(ct);
        return await RevokeAsync(expired, RevocationReason.Expired, ct);
    }

    private async Task<int> RevokeAsync(IReadOnlyList<ApiKey> due, RevocationReason reason, CancellationToken ct)
    {
        var revoked = 0;
        foreach (var key in due)
        {
            try
            {
                await keys.RevokeAsync(key.TenantId, key.Id, reason, "system", ct);
                revoked++;
            }
            catch (Exception e) when (e is ConcurrencyException or RuleViolation { Code: "key_revoked" })
            {
                // Revoked meanwhile by another runner or a person: nothing left to do.
            }
        }

        if (revoked > 0)
        {
            Log.KeysRevoked(logger, revoked, reason);
        }

        return revoked;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Revoked {Count} API keys ({Reason})")]
        public static partial void KeysRevoked(ILogger logger, int count, RevocationReason reason);
    }
}
