using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Notices;

/// <summary>
/// The outbox's sending side (every minute): each due notice is delivered through the host's <see cref="IBillingMailer"/>
/// and marked sent. A failed delivery stays due for the next run; one that no longer applies, or that could not be
/// delivered within <see cref="NoticeOptions.GiveUpAfter"/>, is dropped with the reason. Note: delivery is at least
/// once: a crash between sending and marking sends that email again on the next run.
/// </summary>
public sealed partial class BillingNoticeSender(
    IDocumentStore store,
    SubscriptionService subscriptions,
    IEnumerable<IBillingMailer> mailers,
    IOptions<NoticeOptions> options,
    TimeProvider clock,
    ILogger<BillingNoticeSender> logger)
{
    // One sender at a time across servers, so two overlapping runs never send the same notice twice.
    private const long SendLockId = 0x4E4F5449434553; // "NOTICES"

    /// <summary>Sends the due notices; the number sent. Nothing happens in a host without a mailer (the gateway,
    /// the CLI): the notices wait for a host that has one.</summary>
    public async Task<int> SendDueAsync(CancellationToken ct = default)
    {
        if (mailers.LastOrDefault() is not { } mailer)
        {
            return 0;
        }

        await using var lockSession = store.LightweightSession();
        await lockSession.BeginTransactionAsync(ct);
        var locked = await lockSession.QueryAsync<bool>("select locked from (select pg_try_advisory_xact_lock(?) as locked) as notice_lock", ct, SendLockId);
        if (!locked.Single())
        {
            return 0;
        }

        IReadOnlyList<BillingNotice> due;
        await using (var query = store.QuerySession())
        {
            due = await query.Query<BillingNotice>()
                .Where(n => n.AnyTenant() && n.SentAt == null && n.DroppedAt == null)
                .OrderBy(n => n.CreatedAt)
                .ToListAsync(ct);
        }

        var sent = 0;
        foreach (var notice in due)
        {
            var now = clock.GetUtcNow();
            if (!BillingNotices.StillApplies(notice, await subscriptions.FindAsync(notice.TenantId, ct), now))
            {
                await SaveAsync(notice with { DroppedAt = now, DropReason = "no longer applies" }, ct);
                continue;
            }

            if (now - notice.CreatedAt > options.Value.GiveUpAfter)
            {
                Log.GaveUp(logger, notice.Id, notice.Attempts, notice.LastError ?? "none");
                await SaveAsync(notice with { DroppedAt = now, DropReason = $"not delivered within {options.Value.GiveUpAfter}" }, ct);
                continue;
            }

            var delivery = await mailer.DeliverAsync(notice, ct);
            if (delivery.Sent)
            {
                await SaveAsync(notice with { SentAt = clock.GetUtcNow(), Attempts = notice.Attempts + 1, LastError = null }, ct);
                sent++;
            }
            else
            {
                Log.NotDelivered(logger, notice.Id, delivery.Problem ?? "unknown");
                await SaveAsync(notice with { Attempts = notice.Attempts + 1, LastError = delivery.Problem }, ct);
            }
        }

        return sent;
    }

    private async Task SaveAsync(BillingNotice notice, CancellationToken ct)
    {
        await using var session = store.LightweightSession(Tenant.MartenTenantOf(notice.TenantId));
        session.Store(notice);
        await session.SaveChangesAsync(ct);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3202, Level = LogLevel.Warning, Message = "Billing notice {NoticeId} not delivered: {Problem}; tried again next run")]
        public static partial void NotDelivered(ILogger logger, string noticeId, string problem);

        [LoggerMessage(EventId = 3203, Level = LogLevel.Error, Message = "Billing notice {NoticeId} dropped undelivered after {Attempts} attempts; last problem: {Problem}")]
        public static partial void GaveUp(ILogger logger, string noticeId, int attempts, string problem);
    }
}
