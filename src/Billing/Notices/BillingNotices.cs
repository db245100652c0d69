using System.Globalization;
using Lanes.Billing.Subscriptions;

namespace Lanes.Billing.Notices;

/// <summary>Pure: which billing emails a change of a subscription calls for, and whether one still applies when its
/// turn to be sent comes.</summary>
public static class BillingNotices
{
    /// <summary>The notices a write of <paramref name="events"/> (turning <paramref name="before"/> into
    /// <paramref name="after"/>) calls for. A second failure during the same grace period gives the same id as the
    /// first, so it is not sent again.</summary>
    public static IReadOnlyList<BillingNotice> From(Subscription? before, IReadOnlyList<object> events, Subscription after, DateTimeOffset now)
    {
        var notices = new List<BillingNotice>();
        if (events.OfType<PaymentFailed>().LastOrDefault() is { } failed && after.Status is SubscriptionStatus.InGrace or SubscriptionStatus.PastDue)
        {
            notices.Add(New(after.TenantId, BillingNoticeKind.PaymentFailed, Key(after.GraceEndsAt ?? failed.FailedAt), now, new BillingNoticeData
            {
                PlanId = after.PlanId,
                PlanLanes = after.PlanLanes,
                GraceLanes = after.GraceLanes is { } lanes ? Math.Min(lanes, after.PlanLanes) : null,
                GraceEndsAt = after.GraceEndsAt,
            }));
        }

        if (events.OfType<SubscriptionEnded>().LastOrDefault() is { } ended && after.Status == SubscriptionStatus.Ended)
        {
            notices.Add(New(after.TenantId, BillingNoticeKind.SubscriptionEnded, Key(ended.EndedAt), now, new BillingNoticeData
            {
                PlanId = before?.PlanId ?? after.PlanId,
                PlanLanes = before?.PlanLanes,
                FreeTrial = before?.FreeTrial ?? false,
                EndReason = ended.Reason,
            }));
        }

        return notices;
    }

    /// <summary>A trial ending within <paramref name="notice"/> (and not cancelled or paused) gets one notice per trial
    /// end: staff extending the trial means a new end, and a new notice when that one comes near.</summary>
    public static BillingNotice? TrialEnding(Subscription s, TimeSpan notice, DateTimeOffset now) =>
        s is { Status: SubscriptionStatus.Trialing, CancelsAt: null } && s.PeriodEnd > now && s.PeriodEnd - now <= notice
            ? New(s.TenantId, BillingNoticeKind.TrialEnding, Key(s.PeriodEnd), now, new BillingNoticeData
            {
                PlanId = s.PlanId,
                PlanLanes = s.PlanLanes,
                TrialEndsAt = s.PeriodEnd,
                FreeTrial = s.FreeTrial,
            })
            : null;

    /// <summary>Stripe asks the customer to confirm a payment (<c>invoice.payment_action_required</c>): one notice per invoice.</summary>
    public static BillingNotice AuthenticationNeeded(Guid tenantId, string invoiceId, string? hostedInvoiceUrl, string? planId, DateTimeOffset now) =>
        New(tenantId, BillingNoticeKind.AuthenticationNeeded, invoiceId, now, new BillingNoticeData
        {
            PlanId = planId,
            InvoiceId = invoiceId,
            HostedInvoiceUrl = hostedInvoiceUrl,
        });

    /// <summary>Whether the notice still says something true when it is about to be sent: a failed payment paid in the
    /// meantime, a trial converted or extended, or an ended subscription brought back by a late payment are not mailed.</summary>
    public static bool StillApplies(BillingNotice notice, Subscription? now, DateTimeOffset at) => notice.Kind switch
    {
        BillingNoticeKind.PaymentFailed => now is { Status: SubscriptionStatus.InGrace or SubscriptionStatus.PastDue } && now.GraceEndsAt == notice.Data.GraceEndsAt,
        BillingNoticeKind.TrialEnding => now is { Status: SubscriptionStatus.Trialing, CancelsAt: null } && now.PeriodEnd == notice.Data.TrialEndsAt && now.PeriodEnd > at,
        BillingNoticeKind.SubscriptionEnded => now is { Status: SubscriptionStatus.Ended },
        _ => true,
    };

    /// <summary>Deterministic: the same tenant, kind and key always give the same id.</summary>
    public static string IdOf(Guid tenantId, BillingNoticeKind kind, string key) => $"{kind}:{tenantId:N}:{key}";

    private static BillingNotice New(Guid tenantId, BillingNoticeKind kind, string key, DateTimeOffset now, BillingNoticeData data) =>
        new(IdOf(tenantId, kind, key), tenantId, kind, now, data);

    private static string Key(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ss.fffffffZ", CultureInfo.InvariantCulture);
}
