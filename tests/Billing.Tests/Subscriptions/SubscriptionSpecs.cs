using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;

namespace Lanes.Billing.Tests.Subscriptions;

/// <summary>Given events / when a command / then events or a refusal. No database.</summary>
public class SubscriptionSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);
    private static readonly Guid TenantId = Guid.NewGuid();
    private static readonly PlanCatalog Plans = new(PlanCatalog.Defaults);
    private static readonly PlanTier Starter = Plans.Get("starter");
    private static readonly PlanTier Pro = Plans.Get("pro");

    private static Subscription? Given(params object[] events) => events.Aggregate((Subscription?)null, Subscription.After);

    private static SubscriptionStarted Started(PlanTier? plan = null, bool trial = false) =>
        SubscriptionDecisions.Start(null, TenantId, plan ?? Pro, trial, null, "owner", Now.AddDays(-1));

    [Fact]
    public void Starting_reserves_the_plans_lanes_for_one_period()
    {
        var e = SubscriptionDecisions.Start(null, TenantId, Pro, trial: false, null, "owner", Now);

        var s = Given(e)!;
        Assert.Equal(SubscriptionStatus.Active, s.Status);
        Assert.Equal(6, s.ReservedLanesAt(Now));
        Assert.Equal(6, s.AllocatedLanes);
        Assert.Equal(Now + SubscriptionDecisions.BillingPeriod, s.PeriodEnd);
    }

    [Fact]
    public void A_live_subscription_cannot_be_started_twice()
    {
        var error = Assert.Throws<RuleViolation>(() => SubscriptionDecisions.Start(Given(Started()), TenantId, Pro, false, null, "owner", Now));
        Assert.Equal("already_subscribed", error.Code);
    }

    [Fact]
    public void An_ended_subscription_can_start_again()
    {
        var ended = Given(Started(), SubscriptionDecisions.End(Given(Started()), "cancelled", "owner", Now));

        var e = SubscriptionDecisions.Start(ended, TenantId, Starter, false, null, "owner", Now);
        Assert.Equal(2, Subscription.After(ended, e)!.ReservedLanesAt(Now));
    }

    [Fact]
    public void Changing_plan_moves_the_lanes_at_once()
    {
        var s = Given(Started(Starter));

        var e = SubscriptionDecisions.ChangePlan(s, Pro, "owner", Now);

        Assert.Equal(("starter", "pro"), (e.From, e.To));
        Assert.Equal(6, Subscription.After(s, e)!.ReservedLanesAt(Now));
    }

    [Fact]
    public void No_plan_change_on_an_ended_subscription()
    {
        var s = Given(Started(), new SubscriptionEnded(TenantId, "cancelled", "owner", Now));

        Assert.Equal("subscription_ended", Assert.Throws<RuleViolation>(() => SubscriptionDecisions.ChangePlan(s, Starter, "owner", Now)).Code);
    }

    [Fact]
    public void No_plan_change_without_a_subscription_or_to_the_same_plan()
    {
        Assert.Equal("no_subscription", Assert.Throws<RuleViolation>(() => SubscriptionDecisions.ChangePlan(null, Pro, "owner", Now)).Code);
        Assert.Equal("same_plan", Assert.Throws<RuleViolation>(() => SubscriptionDecisions.ChangePlan(Given(Started()), Pro, "owner", Now)).Code);
    }

    [Fact]
    public void Renewal_must_extend_the_period_and_ends_a_paid_trial()
    {
        // A Stripe trial (a card on file): its first paid invoice renews it into an active subscription.
        var s = Given(Started(trial: true) with { FreeTrial = false })!;

        Assert.Equal("period_not_extended", Assert.Throws<RuleViolation>(() => SubscriptionDecisions.Renew(s, s.PeriodEnd, "stripe", Now)).Code);
        var renewed = Subscription.After(s, SubscriptionDecisions.Renew(s, s.PeriodEnd.AddDays(30), "stripe", Now))!;
        Assert.Equal(SubscriptionStatus.Active, renewed.Status);
        Assert.Equal(s.PeriodEnd.AddDays(30), renewed.PeriodEnd);
    }

    [Fact]
    public void A_free_trial_extended_by_staff_stays_a_trial_and_only_a_staff_plan_assignment_makes_it_paid()
    {
        var s = Given(Started(trial: true))!;
        Assert.True(s.FreeTrial);

        var extended = Subscription.After(s, SubscriptionDecisions.Renew(s, s.PeriodEnd.AddDays(7), "staff-1", Now))!;
        Assert.Equal((SubscriptionStatus.Trialing, true), (extended.Status, extended.FreeTrial));

        var converted = Subscription.After(extended, SubscriptionDecisions.ConvertTrial(extended, "staff-1", Now))!;
        Assert.Equal((SubscriptionStatus.Active, false), (converted.Status, converted.FreeTrial));
        Assert.Equal("not_a_trial", Assert.Throws<RuleViolation>(() => SubscriptionDecisions.ConvertTrial(converted, "staff-1", Now)).Code);
    }

    [Fact]
    public void A_failed_payment_starts_grace_with_reduced_lanes_but_keeps_the_plan_allocated()
    {
        var s = Given(Started());

        var events = SubscriptionDecisions.FailPayment(s, "card_declined", TimeSpan.FromDays(3), 1, Now);

        Assert.Collection(events, e => Assert.IsType<PaymentFailed>(e), e => Assert.Equal(Now.AddDays(3), Assert.IsType<GracePeriodStarted>(e).GraceEndsAt));
        var after = events.Aggregate(s, Subscription.After)!;
        Assert.Equal(SubscriptionStatus.InGrace, after.Status);
        Assert.Equal(1, after.ReservedLanesAt(Now));
        Assert.Equal(6, after.AllocatedLanes);
    }

    [Fact]
    public void A_second_failure_in_grace_does_not_extend_it()
    {
        var s = Given([Started(), .. SubscriptionDecisions.FailPayment(Given(Started()), "declined", TimeSpan.FromDays(3), 1, Now)]);

        var events = SubscriptionDecisions.FailPayment(s, "declined again", TimeSpan.FromDays(3), 1, Now.AddDays(1));

        Assert.IsType<PaymentFailed>(Assert.Single(events));
    }

    [Fact]
    public void Payment_restores_the_plan_lanes()
    {
        var s = Given([Started(), .. SubscriptionDecisions.FailPayment(Given(Started()), "declined", TimeSpan.FromDays(3), 1, Now)]);

        var after = Subscription.After(s, SubscriptionDecisions.RecoverPayment(s, Now.AddHours(1)))!;

        Assert.Equal(SubscriptionStatus.Active, after.Status);
        Assert.Equal(6, after.ReservedLanesAt(Now));
        Assert.Equal("not_past_due", Assert.Throws<RuleViolation>(() => SubscriptionDecisions.RecoverPayment(after, Now)).Code);
    }

    [Fact]
    public void Cancelling_ends_at_the_period_end_and_can_be_resumed_until_then()
    {
        var s = Given(Started())!;

        var cancel = SubscriptionDecisions.Cancel(s, "owner", Now);
        var cancelling = Subscription.After(s, cancel)!;

        Assert.Equal(s.PeriodEnd, cancel.EndsAt);
        Assert.Equal("already_cancelling", Assert.Throws<RuleViolation>(() => SubscriptionDecisions.Cancel(cancelling, "owner", Now)).Code);
        Assert.Null(SubscriptionDecisions.EndIfLapsed(cancelling, s.PeriodEnd.AddSeconds(-1)));
        Assert.Equal("cancelled", SubscriptionDecisions.EndIfLapsed(cancelling, s.PeriodEnd)!.Reason);
        Assert.Equal(SubscriptionStatus.Active, Subscription.After(cancelling, SubscriptionDecisions.Resume(cancelling, "owner", Now))!.Status);
        Assert.Equal("not_cancelling", Assert.Throws<RuleViolation>(() => SubscriptionDecisions.Resume(s, "owner", Now)).Code);
    }

    [Fact]
    public void Grace_that_runs_out_ends_the_subscription_and_frees_its_lanes()
    {
        var s = Given([Started(), .. SubscriptionDecisions.FailPayment(Given(Started()), "declined", TimeSpan.FromDays(3), 1, Now)])!;

        Assert.Null(SubscriptionDecisions.EndIfLapsed(s, Now.AddDays(3).AddSeconds(-1)));
        var ended = Subscription.After(s, SubscriptionDecisions.EndIfLapsed(s, Now.AddDays(3))!)!;

        Assert.Equal(SubscriptionStatus.Ended, ended.Status);
        Assert.Equal(0, ended.ReservedLanesAt(Now));
        Assert.Equal(0, ended.AllocatedLanes);
    }

    [Fact]
    public void A_staff_override_sets_the_lanes_until_it_expires()
    {
        var s = Given(Started());
        var until = Now.AddDays(2);

        var adjusted = Subscription.After(s, SubscriptionDecisions.AdjustReservation(s, 10, until, "launch week", "staff-1", Now))!;

        Assert.Equal(10, adjusted.ReservedLanesAt(Now));
        Assert.Equal(10, adjusted.AllocatedLanes);
        Assert.Equal(6, adjusted.ReservedLanesAt(until));
        Assert.Null(SubscriptionDecisions.ExpireOverride(adjusted, until.AddSeconds(-1)));
        var expired = SubscriptionDecisions.ExpireOverride(adjusted, until)!;
        Assert.Equal(6, Subscription.After(adjusted, expired)!.AllocatedLanes);
    }

    [Fact]
    public void Lowering_lanes_by_override_keeps_the_plans_lanes_allocated()
    {
        var s = Given(Started());

        var lowered = Subscription.After(s, SubscriptionDecisions.AdjustReservation(s, 1, Now.AddDays(1), "abuse", "staff-1", Now))!;

        Assert.Equal(1, lowered.ReservedLanesAt(Now));
        Assert.Equal(6, lowered.AllocatedLanes);
    }

    [Theory]
    [InlineData(-1, 1, "launch", "staff-1", "negative_lanes")]
    [InlineData(4, -1, "launch", "staff-1", "expiry_in_past")]
    [InlineData(4, 1, " ", "staff-1", "reason_required")]
    [InlineData(4, 1, "launch", "", "staff_required")]
    public void Reservation_adjustments_are_validated(int lanes, int daysUntil, string reason, string staff, string code)
    {
        var error = Assert.Throws<RuleViolation>(() =>
            SubscriptionDecisions.AdjustReservation(Given(Started()), lanes, Now.AddDays(daysUntil), reason, staff, Now));

        Assert.Equal(code, error.Code);
    }

    [Fact]
    public void No_reservation_on_an_ended_subscription()
    {
        var s = Given(Started(), new SubscriptionEnded(TenantId, "cancelled", "owner", Now));

        Assert.Equal("subscription_ended", Assert.Throws<RuleViolation>(() =>
            SubscriptionDecisions.AdjustReservation(s, 4, null, "why", "staff-1", Now)).Code);
    }
}
