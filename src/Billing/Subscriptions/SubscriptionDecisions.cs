using Lanes.Shared.Plans;

namespace Lanes.Billing.Subscriptions;

/// <summary>
/// Pure decisions: current state + command → events, or a <see cref="RuleViolation"/>. Capacity is checked
/// separately (<see cref="Capacity.CapacityLedger"/>) from the allocation the resulting state would hold.
/// </summary>
public static class SubscriptionDecisions
{
    public static readonly TimeSpan BillingPeriod = TimeSpan.FromDays(30);

    public static SubscriptionStarted Start(Subscription? current, Guid tenantId, PlanTier plan, bool trial, TimeSpan? period, string by, DateTimeOffset now)
    {
        if (current is { IsLive: true })
        {
            throw new RuleViolation("already_subscribed", $"The tenant already has a {current.Status.ToString().ToLowerInvariant()} subscription on {current.PlanId}; change its plan instead.");
        }

        return new SubscriptionStarted(
            tenantId, plan.Id, plan.ReservedLanes, plan.RequestsPerWindow, plan.WindowLength,
            trial ? SubscriptionStatus.Trialing : SubscriptionStatus.Active,
            now, now + (period ?? BillingPeriod), by, now, FreeTrial: trial);
    }

    /// <summary>What staff assigning a plan to a free trial means: the plan, paid from now on (invoiced by staff).</summary>
    public static TrialConverted ConvertTrial(Subscription? current, string by, DateTimeOffset now)
    {
        var s = RequireLive(current, "convert the trial of");
        return s.FreeTrial
            ? new TrialConverted(s.TenantId, now, now + BillingPeriod, by, now)
            : throw new RuleViolation("not_a_trial", "The subscription is not a free trial.");
    }

    public static PlanChanged ChangePlan(Subscription? current, PlanTier to, string by, DateTimeOffset now)
    {
        var s = RequireLive(current, "change the plan of");
        if (string.Equals(s.PlanId, to.Id, StringComparison.OrdinalIgnoreCase))
        {
            throw new RuleViolation("same_plan", $"The subscription is already on {to.Name}.");
        }

        return new PlanChanged(s.TenantId, s.PlanId, to.Id, to.ReservedLanes, to.RequestsPerWindow, to.WindowLength, now, by, now);
    }

    /// <summary>Internal mode has no payment provider to renew a paid period: a plan staff assigned (invoiced outside
    /// Lanes) rolls over until staff end it; a cancellation scheduled for its end ends it instead, through
    /// <see cref="EndIfLapsed"/>. Note: a free trial never renews; it ends with its period.</summary>
    public static SubscriptionRenewed? RenewIfDue(Subscription? current, DateTimeOffset now)
    {
        if (current is not { Status: SubscriptionStatus.Active, StripeSubscriptionId: null, FreeTrial: false } s || s.PeriodEnd > now)
        {
            return null;
        }

        var end = s.PeriodEnd;
        while (end <= now)
        {
            end += BillingPeriod;
        }

        return new SubscriptionRenewed(s.TenantId, end - BillingPeriod, end, "system", now);
    }

    /// <summary>A scheduled downgrade whose time has come.</summary>
    public static PlanChanged? ApplyScheduledChange(Subscription? current, DateTimeOffset now) =>
        current is { IsLive: true, ScheduledChange: { } c } && c.EffectiveAt <= now
            ? new PlanChanged(current.TenantId, current.PlanId, c.To, c.PlanLanes, c.RequestsPerWindow, c.WindowLength, c.EffectiveAt, "system", now)
            : null;

    public static SubscriptionPaused Pause(Subscription? current, string by, DateTimeOffset now)
    {
        var s = RequireLive(current, "pause");
        return s.Status == SubscriptionStatus.Paused
            ? throw new RuleViolation("already_paused", "The subscription is already paused.")
            : new SubscriptionPaused(s.TenantId, by, now);
    }

    public static SubscriptionUnpaused Unpause(Subscription? current, string by, DateTimeOffset now)
    {
        var s = RequireLive(current, "resume");
        return s.Status != SubscriptionStatus.Paused
            ? throw new RuleViolation("not_paused", "The subscription is not paused.")
            : new SubscriptionUnpaused(s.TenantId, by, now);
    }

    public static SubscriptionRenewed Renew(Subscription? current, DateTimeOffset newPeriodEnd, string by, DateTimeOffset now)
    {
        var s = RequireLive(current, "renew");
        if (newPeriodEnd <= s.PeriodEnd)
        {
            throw new RuleViolation("period_not_extended", $"A renewal must move the period end past {s.PeriodEnd:u}.");
        }

        return new SubscriptionRenewed(s.TenantId, s.PeriodEnd, newPeriodEnd, by, now);
    }

    public static IReadOnlyList<object> FailPayment(Subscription? current, string reason, TimeSpan grace, int reducedLanes, DateTimeOffset now)
    {
        var s = RequireLive(current, "record a failed payment on");
        if (reducedLanes < 0)
        {
            throw new RuleViolation("negative_lanes", "A grace reservation cannot be below zero lanes.");
        }

        // A second failure during grace is recorded but does not extend the grace period.
        return s.Status is SubscriptionStatus.InGrace or SubscriptionStatus.PastDue
            ? [new PaymentFailed(s.TenantId, reason, now)]
            : [new PaymentFailed(s.TenantId, reason, now), new GracePeriodStarted(s.TenantId, reducedLanes, now + grace, now)];
    }

    public static PaymentRecovered RecoverPayment(Subscription? current, DateTimeOffset now)
    {
        var s = RequireLive(current, "record a payment on");
        if (s.Status is not (SubscriptionStatus.PastDue or SubscriptionStatus.InGrace))
        {
            throw new RuleViolation("not_past_due", "The subscription has no failed payment to recover.");
        }

        return new PaymentRecovered(s.TenantId, now);
    }

    public static CancellationScheduled Cancel(Subscription? current, string by, DateTimeOffset now)
    {
        var s = RequireLive(current, "cancel");
        if (s.CancelsAt is not null)
        {
            throw new RuleViolation("already_cancelling", $"The subscription already ends on {s.CancelsAt:u}.");
        }

        return new CancellationScheduled(s.TenantId, s.PeriodEnd, by, now);
    }

    public static CancellationResumed Resume(Subscription? current, string by, DateTimeOffset now)
    {
        var s = RequireLive(current, "resume");
        if (s.CancelsAt is null)
        {
            throw new RuleViolation("not_cancelling", "Only a subscription scheduled to cancel can be resumed.");
        }

        return new CancellationResumed(s.TenantId, by, now);
    }

    public static SubscriptionEnded End(Subscription? current, string reason, string by, DateTimeOffset now)
    {
        var s = RequireLive(current, "end");
        return new SubscriptionEnded(s.TenantId, reason, by, now);
    }

    /// <summary>What the clock says should happen to a subscription now (cancellation or grace reached its end).</summary>
    public static SubscriptionEnded? EndIfLapsed(Subscription? current, DateTimeOffset now) => current switch
    {
        // Internal-mode trials end with their period (Stripe ends its own trials, through webhooks).
        { FreeTrial: true, Status: not SubscriptionStatus.Cancelling } when current.PeriodEnd <= now => new SubscriptionEnded(current.TenantId, "trial_ended", "system", now),
        { Status: SubscriptionStatus.Trialing, StripeSubscriptionId: null } when current.PeriodEnd <= now => new SubscriptionEnded(current.TenantId, "trial_ended", "system", now),
        { IsLive: true, CancelsAt: { } at } when at <= now => new SubscriptionEnded(current.TenantId, "cancelled", "system", now),
        { Status: SubscriptionStatus.InGrace, GraceEndsAt: { } at } when at <= now => new SubscriptionEnded(current.TenantId, "grace_expired", "system", now),
        _ => null,
    };

    public static ReservationAdjusted AdjustReservation(Subscription? current, int lanes, DateTimeOffset? until, string reason, string staffId, DateTimeOffset now)
    {
        var s = RequireLive(current, "adjust the reservation of");
        if (lanes < 0)
        {
            throw new RuleViolation("negative_lanes", "A reservation cannot be below zero lanes.");
        }

        if (until is { } u && u <= now)
        {
            throw new RuleViolation("expiry_in_past", "An override's expiry must be in the future.");
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new RuleViolation("reason_required", "Say why the reservation changes: the reason is kept in the tenant's history.");
        }

        if (string.IsNullOrWhiteSpace(staffId))
        {
            throw new RuleViolation("staff_required", "A reservation is adjusted by a named staff member.");
        }

        return new ReservationAdjusted(s.TenantId, lanes, until, reason.Trim(), staffId, now);
    }

    public static ReservationOverrideExpired? ExpireOverride(Subscription? current, DateTimeOffset now) =>
        current is { IsLive: true, Override: { Until: { } until } o } && until <= now
            ? new ReservationOverrideExpired(current.TenantId, o.Lanes, now)
            : null;

    private static Subscription RequireLive(Subscription? s, string action) => s switch
    {
        null or { Status: SubscriptionStatus.None } => throw new RuleViolation("no_subscription", $"Cannot {action} a tenant with no subscription."),
        { Status: SubscriptionStatus.Ended } => throw new RuleViolation("subscription_ended", $"Cannot {action} an ended subscription; start a new one."),
        _ => s,
    };
}
