using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;

namespace Lanes.Billing.Stripe;

/// <summary>
/// The events that bring a tenant's subscription in line with Stripe's current view of it. Pure: webhooks, the
/// nightly reconciliation and tests all call it with the subscription as Stripe has it now, so a late or repeated
/// webhook can never undo a newer state — it converges to the same answer.
/// </summary>
public static class StripeSync
{
    private static readonly HashSet<string> Ended = ["canceled", "incomplete_expired"];
    private static readonly HashSet<string> Failing = ["past_due", "unpaid"];

    public static IReadOnlyList<object> Decide(
        Subscription? local, StripeView remote, Guid tenantId, Func<string?, PlanTier?> planForPrice, TimeSpan grace, int graceLanes, string by, DateTimeOffset now)
    {
        var events = new List<object>();
        var s = local;

        // Note: a tenant has one live subscription. While it is linked, any other Stripe subscription of the customer
        // (an old, canceled one; a second checkout) is not allowed to end, replace or re-link it.
        if (local is { IsLive: true, StripeSubscriptionId: { } linked } && linked != remote.SubscriptionId)
        {
            return events;
        }

        // Note: a subscription Lanes ended (its grace ran out, or its cancellation came due) stays ended while Stripe
        // retries the invoice or lets the period run out: it comes back only when Stripe says it is paid and
        // continuing. Otherwise every failed retry would start it again with a fresh grace period.
        if (local is { Status: SubscriptionStatus.Ended, StripeSubscriptionId: { } endedLink } && endedLink == remote.SubscriptionId
            && !(remote.Status is "active" or "trialing" && !remote.CancelAtPeriodEnd))
        {
            return events;
        }

        void Add(object e)
        {
            events.Add(e);
            s = Subscription.After(s, e);
        }

        if (Ended.Contains(remote.Status))
        {
            if (s is { IsLive: true })
            {
                Add(new SubscriptionEnded(tenantId, "stripe_canceled", by, now));
            }

            return events;
        }

        if (remote.Status == "incomplete")
        {
            return events; // checkout not paid yet: nothing to reserve
        }

        // Note: a price no plan knows never stops the rest: a live subscription keeps its plan (and lanes) while
        // renewals, failures and cancellations are handled, and staff are told once. Only a start needs the plan.
        var plan = planForPrice(remote.PriceId);
        if (plan is null)
        {
            if (s is not { IsLive: true })
            {
                throw new RuleViolation("unknown_price", $"Stripe price '{remote.PriceId}' belongs to no plan in the catalog.");
            }

            if (s.UnknownStripePrice != remote.PriceId)
            {
                Add(new UnknownStripePriceFound(tenantId, remote.SubscriptionId, remote.PriceId, now));
            }
        }
        else if (s is { IsLive: true, UnknownStripePrice: not null })
        {
            Add(new UnknownStripePriceFound(tenantId, remote.SubscriptionId, null, now));
        }

        if (s is not { IsLive: true } && plan is not null)
        {
            Add(new SubscriptionStarted(tenantId, plan.Id, plan.ReservedLanes, plan.RequestsPerWindow, plan.WindowLength,
                remote.Status == "trialing" ? SubscriptionStatus.Trialing : SubscriptionStatus.Active,
                remote.PeriodStart, remote.PeriodEnd, by, now));
            if (local is { Status: SubscriptionStatus.Ended, EndReason: "grace_expired", EndedAt: { } endedAt } && local.StripeSubscriptionId == remote.SubscriptionId)
            {
                Add(new SubscriptionRestored(tenantId, endedAt, "late_payment", now));
            }
        }

        if (s!.StripeSubscriptionId != remote.SubscriptionId || s.StripeCustomerId != remote.CustomerId)
        {
            Add(new StripeSubscriptionLinked(tenantId, remote.CustomerId, remote.SubscriptionId, now));
        }

        if (plan is not null && !string.Equals(s.PlanId, plan.Id, StringComparison.OrdinalIgnoreCase))
        {
            // Fewer lanes wait for the end of the period that was paid for; more lanes apply at once.
            if (plan.ReservedLanes < s.PlanLanes && s.PeriodEnd > now)
            {
                if (!string.Equals(s.ScheduledChange?.To, plan.Id, StringComparison.OrdinalIgnoreCase))
                {
                    Add(new PlanChangeScheduled(tenantId, s.PlanId, plan.Id, plan.ReservedLanes, plan.RequestsPerWindow, plan.WindowLength, s.PeriodEnd, by, now));
                }
            }
            else
            {
                Add(new PlanChanged(tenantId, s.PlanId, plan.Id, plan.ReservedLanes, plan.RequestsPerWindow, plan.WindowLength, now, by, now));
            }
        }

        if (remote.PeriodEnd > s.PeriodEnd)
        {
            Add(new SubscriptionRenewed(tenantId, remote.PeriodStart, remote.PeriodEnd, by, now));
        }

        if (Failing.Contains(remote.Status) && s.Status is not (SubscriptionStatus.PastDue or SubscriptionStatus.InGrace))
        {
            foreach (var e in SubscriptionDecisions.FailPayment(s, $"stripe_{remote.Status}", grace, graceLanes, now))
            {
                Add(e);
            }
        }
        else if (remote.Status is "active" or "trialing" && s.Status is SubscriptionStatus.PastDue or SubscriptionStatus.InGrace)
        {
            Add(new PaymentRecovered(tenantId, now));
        }

        if (remote.Status == "paused" && s.Status != SubscriptionStatus.Paused)
        {
            Add(new SubscriptionPaused(tenantId, by, now));
        }
        else if (remote.Status != "paused" && s.Status == SubscriptionStatus.Paused)
        {
            Add(new SubscriptionUnpaused(tenantId, by, now));
        }

        if (remote.CancelAtPeriodEnd && s.CancelsAt is null)
        {
            Add(new CancellationScheduled(tenantId, remote.PeriodEnd, by, now));
        }
        else if (!remote.CancelAtPeriodEnd && s.CancelsAt is not null)
        {
            Add(new CancellationResumed(tenantId, by, now));
        }

        return events;
    }
}
