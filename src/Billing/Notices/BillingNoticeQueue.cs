using Lanes.Billing.Infrastructure;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Notices;

/// <summary>
/// Queues billing notices that no subscription event causes: a payment Stripe wants confirmed, a trial coming to its
/// end. (Notices that events cause are queued by <see cref="SubscriptionService"/> in the same transaction.) Each is
/// inserted under its deterministic id, so queueing the same notice twice keeps the first.
/// </summary>
public sealed partial class BillingNoticeQueue(
    IDocumentStore store, SubscriptionService subscriptions, IOptions<NoticeOptions> options, TimeProvider clock, ILogger<BillingNoticeQueue> logger)
{
    /// <summary>Queues the notice unless one with its id exists; false when it was already queued (or sent).</summary>
    public async Task<bool> QueueAsync(BillingNotice notice, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession(Tenant.MartenTenantOf(notice.TenantId));
        session.Insert(notice);
        try
        {
            await session.SaveChangesAsync(ct);
            return true;
        }
        catch (Exception e) when (Conflicts.IsUniqueViolation(e))
        {
            return false;
        }
    }

    /// <summary>
    /// Stripe's <c>invoice.payment_action_required</c>: the bank asks the customer to confirm a payment (3-D Secure) on
    /// the invoice's hosted page. One email per invoice, however often the webhook arrives.
    /// </summary>
    public async Task<bool> QueueAuthenticationNeededAsync(Guid tenantId, string? hostedInvoiceUrl, string invoiceId, CancellationToken ct = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(invoiceId);
        var plan = (await subscriptions.FindAsync(tenantId, ct))?.PlanId;
        return await QueueAsync(BillingNotices.AuthenticationNeeded(tenantId, invoiceId, hostedInvoiceUrl, plan, clock.GetUtcNow()), ct);
    }

    /// <summary>Every trial ending within <see cref="NoticeOptions.TrialEndingNotice"/> gets its notice (once per trial end).</summary>
    public async Task<int> QueueTrialEndingAsync(CancellationToken ct = default)
    {
        IReadOnlyList<Subscription> trials;
        await using (var query = store.QuerySession())
        {
            trials = await query.Query<Subscription>().Where(s => s.AnyTenant() && s.Status == SubscriptionStatus.Trialing).ToListAsync(ct);
        }

        var now = clock.GetUtcNow();
        var queued = 0;
        foreach (var notice in trials.Select(s => BillingNotices.TrialEnding(s, options.Value.TrialEndingNotice, now)).OfType<BillingNotice>())
        {
            if (await QueueAsync(notice, ct))
            {
                queued++;
            }
        }

        if (queued > 0)
        {
            Log.TrialNoticesQueued(logger, queued);
        }

        return queued;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3201, Level = LogLevel.Information, Message = "Queued {Count} trial-ending notices")]
        public static partial void TrialNoticesQueued(ILogger logger, int count);
    }
}
