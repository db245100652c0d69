using JasperFx;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Marten;
using Microsoft.Extensions.Logging;

namespace Lanes.Billing.Jobs;

/// <summary>
/// The clock-driven end of things: subscriptions whose cancellation or grace has run out end; every key of an
/// ended subscription and every key past its expiry is revoked; staff overrides past their expiry lapse.
/// Each step re-reads and appends with optimistic concurrency, so two servers running it at once do each
/// change once.
/// </summary>
public sealed partial class Revocations(
    IDocumentStore store, TimeProvider clock, SubscriptionService subscriptions, KeyService keys, ILogger<Revocations> logger)
{
    public async Task<int> EndLapsedSubscriptionsAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var due = await DueSubscriptionsAsync(s =>
            SubscriptionDecisions.EndIfLapsed(s, now) is not null || SubscriptionDecisions.RenewIfDue(s, now) is not null, ct);
        return await ApplyClockAsync(due, ct);
    }

    /// <summary>Staff overrides past their expiry lapse; downgrades scheduled for the period end take effect.</summary>
    public async Task<int> ExpireOverridesAsync(CancellationToken ct = default)
    {
        var due = await DueSubscriptionsAsync(s => s.IsLive && (s.Override?.Until <= clock.GetUtcNow() || s.ScheduledChange?.EffectiveAt <= clock.GetUtcNow()), ct);
        return await ApplyClockAsync(due, ct);
    }

    /// <summary>Revokes every active key of an ended subscription, and every key past its expiry.</summary>
    public async Task<int> RevokeKeysAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        IReadOnlyList<ApiKey> ofEnded, expired;
        await using (var query = store.QuerySession())
        {
            var endedTenants = (await query.Query<Subscription>()
                .Where(s => s.AnyTenant() && s.Status == SubscriptionStatus.Ended)
                .Select(s => s.TenantId)
                .ToListAsync(ct)).ToArray();
            ofEnded = endedTenants.Length == 0 ? [] : await query.Query<ApiKey>()
                .Where(k => k.AnyTenant() && k.State == KeyState.Active && k.TenantId.IsOneOf(endedTenants))
                .ToListAsync(ct);
            expired = await query.Query<ApiKey>()
                .Where(k => k.AnyTenant() && k.State == KeyState.Active && k.ExpiresAt != null && k.ExpiresAt <= now)
                .ToListAsync(ct);
        }

        var revoked = 0;
        foreach (var (key, reason) in ofEnded.Select(k => (k, RevocationReason.SubscriptionEnded))
                     .Concat(expired.Where(k => !ofEnded.Any(e => e.Id == k.Id)).Select(k => (k, RevocationReason.Expired))))
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
            Log.KeysRevoked(logger, revoked);
        }

        return revoked;
    }

    private async Task<IReadOnlyList<Subscription>> DueSubscriptionsAsync(Func<Subscription, bool> due, CancellationToken ct)
    {
        // There is one subscription per tenant, so reading the live ones and deciding in memory stays small.
        await using var query = store.QuerySession();
        var live = await query.Query<Subscription>()
            .Where(s => s.AnyTenant() && s.Status != SubscriptionStatus.Ended && s.Status != SubscriptionStatus.None)
            .ToListAsync(ct);
        return live.Where(due).ToList();
    }

    private async Task<int> ApplyClockAsync(IReadOnlyList<Subscription> due, CancellationToken ct)
    {
        var changed = 0;
        foreach (var s in due)
        {
            try
            {
                var before = s;
                var after = await subscriptions.ApplyClockAsync(s.TenantId, ct);
                if (after.Status != before.Status || after.Override != before.Override || after.PlanId != before.PlanId || after.PeriodEnd != before.PeriodEnd)
                {
                    changed++;
                }
            }
            catch (ConcurrencyException)
            {
                // Another runner applied it first.
            }
        }

        return changed;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3002, Level = LogLevel.Information, Message = "Revoked {Count} API keys (subscription ended or key expired)")]
        public static partial void KeysRevoked(ILogger logger, int count);
    }
}
