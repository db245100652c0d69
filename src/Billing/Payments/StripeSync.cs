using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;

namespace Lanes.Billing.Payments;

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
            && !(remote.Status is "active" or "trialing" && remote.EndsAt is null))
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
        var bought = Buy(remote.ItemsOrPrice, planForPrice);
        var unknownPrice = remote.ItemsOrPrice.FirstOrDefault(i => planForPrice(i.PriceId) is null)?.PriceId;
        if (bought is null && s is not { IsLive: true })
        {
            throw new RuleViolation("unknown_price", $"Stripe price '{remote.PriceId}' belongs to no plan in the catalog.");
        }

        if (s is not { IsLive: true } && bought is not null)
        {
            Add(new SubscriptionStarted(tenantId, bought.Plan.Id, bought.Lanes, bought.RequestsPerWindow, bought.Plan.WindowLength,
                remote.Status == "trialing" ? SubscriptionStatus.Trialing : SubscriptionStatus.Active,
                remote.PeriodStart, remote.PeriodEnd, by, now));
            if (local is { Status: SubscriptionStatus.Ended, EndReason: "grace_expired", EndedAt: { } endedAt } && local.StripeSubscriptionId == remote.SubscriptionId)
            {
                Add(new SubscriptionRestored(tenantId, endedAt, "late_payment", now));
            }
        }

        if (s!.UnknownStripePrice != unknownPrice && (unknownPrice is not null || s.UnknownStripePrice is not null))
        {
            Add(new UnknownStripePriceFound(tenantId, remote.SubscriptionId, unknownPrice, now));
        }

        if (s.StripeSubscriptionId != remote.SubscriptionId || s.StripeCustomerId != remote.CustomerId)
        {
            Add(new StripeSubscriptionLinked(tenantId, remote.CustomerId, remote.SubscriptionId, now));
        }

        if (bought is not null && (!string.Equals(s.PlanId, bought.Plan.Id, StringComparison.OrdinalIgnoreCase) || s.PlanLanes != bought.Lanes || s.RequestsPerWindow != bought.RequestsPerWindow))
        {
            // Fewer lanes wait for the end of the period that was paid for; more lanes apply at once.
            if (bought.Lanes < s.PlanLanes && s.PeriodEnd > now)
            {
                if (!Schedules(s.ScheduledChange, bought))
                {
                    Add(new PlanChangeScheduled(tenantId, s.PlanId, bought.Plan.Id, bought.Lanes, bought.RequestsPerWindow, bought.Plan.WindowLength, s.PeriodEnd, by, now));
                }
            }
            else
            {
                Add(new PlanChanged(tenantId, s.PlanId, bought.Plan.Id, bought.Lanes, bought.RequestsPerWindow, bought.Plan.WindowLength, now, by, now));
            }
        }
        else if (bought is not null)
        {
            // The plan paid for now is the one Lanes serves: what comes next is the schedule's next phase. A smaller
            // one is a downgrade waiting for the period end; none (or a bigger one) means any downgrade was undone.
            var next = Buy(remote.ScheduledItems, planForPrice);
            if (next is not null && next.Lanes < s.PlanLanes && remote.ScheduledAt is { } at)
            {
                if (!Schedules(s.ScheduledChange, next))
                {
                    Add(new PlanChangeScheduled(tenantId, s.PlanId, next.Plan.Id, next.Lanes, next.RequestsPerWindow, next.Plan.WindowLength, at, by, now));
                }
            }
            else if (s.ScheduledChange is { } undone)
            {
                Add(new ScheduledPlanChangeCanceled(tenantId, undone.To, by, now));
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

        if (remote.EndsAt is { } endsAt && s.CancelsAt != endsAt)
        {
            Add(new CancellationScheduled(tenantId, endsAt, by, now));
        }
        else if (remote.EndsAt is null && s.CancelsAt is not null)
        {
            Add(new CancellationResumed(tenantId, by, now));
        }

        // Note: staff pausing collection in the Dashboard give the service for free for a while (Stripe's meaning of
        // pause_collection); the lanes go on, and the pause is on record for staff and the customer.
        if (remote.CollectionPause is { } behavior && (s.CollectionPause != behavior || s.CollectionResumesAt != remote.CollectionResumesAt))
        {
            Add(new PaymentCollectionPaused(tenantId, behavior, remote.CollectionResumesAt, now));
        }
        else if (remote.CollectionPause is null && s.CollectionPause is not null)
        {
            Add(new PaymentCollectionResumed(tenantId, now));
        }

        return events;
    }

    /// <summary>Whether the change already scheduled is the one a Stripe schedule (or price) asks for.</summary>
    private static bool Schedules(ScheduledPlanChange? scheduled, Bought next) =>
        scheduled is not null && string.Equals(scheduled.To, next.Plan.Id, StringComparison.OrdinalIgnoreCase) && scheduled.PlanLanes == next.Lanes;

    /// <summary>What a subscription's items buy: every known plan's lanes and requests times its quantity, named after
    /// the plan that gives most of them. Items at prices no plan knows buy nothing (staff are told).</summary>
    private static Bought? Buy(IReadOnlyList<StripeItem> items, Func<string?, PlanTier?> planForPrice)
    {
        var known = items.Select(i => (Plan: planForPrice(i.PriceId), Quantity: (int)Math.Clamp(i.Quantity, 0, 10_000)))
            .Where(x => x.Plan is not null).Select(x => (Plan: x.Plan!, x.Quantity)).ToList();
        return known.Count == 0
            ? null
            : new Bought(known.MaxBy(x => x.Plan.ReservedLanes * x.Quantity).Plan,
                known.Sum(x => x.Plan.ReservedLanes * x.Quantity), known.Sum(x => x.Plan.RequestsPerWindow * x.Quantity));
    }

    private sealed record Bought(PlanTier Plan, int Lanes, int RequestsPerWindow);
}
