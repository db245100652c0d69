using Lanes.Billing.Notices;
using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;

namespace Lanes.Billing.Tests.Notices;

/// <summary>A subscription's change → the billing emails it calls for, and whether one still applies. No database.</summary>
public class BillingNoticesSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);
    private static readonly Guid Tenant = Guid.NewGuid();
    private static readonly PlanTier Pro = PlanCatalog.Defaults.Single(p => p.Id == "pro");

    private static Subscription Active(bool trial = false) => Subscription.Create(SubscriptionDecisions.Start(null, Tenant, Pro, trial, null, "test", Now.AddDays(-10)));

    private static (IReadOnlyList<object> Events, Subscription After) Write(Subscription before, IReadOnlyList<object> events) =>
        (events, events.Aggregate((Subscription?)before, Subscription.After)!);

    private static IReadOnlyList<BillingNotice> NoticesOf(Subscription before, IReadOnlyList<object> events) =>
        BillingNotices.From(before, events, Write(before, events).After, Now);

    [Fact]
    public void A_failed_payment_calls_for_one_notice_with_the_grace_end_and_the_lanes_kept()
    {
        var before = Active();

        var notice = Assert.Single(NoticesOf(before, SubscriptionDecisions.FailPayment(before, "card_declined", TimeSpan.FromDays(3), 1, Now)));

        Assert.Equal((BillingNoticeKind.PaymentFailed, Tenant, Now), (notice.Kind, notice.TenantId, notice.CreatedAt));
        Assert.Equal(new BillingNoticeData { PlanId = "pro", PlanLanes = 6, GraceLanes = 1, GraceEndsAt = Now.AddDays(3) }, notice.Data);
        Assert.True(notice.IsDue);
    }

    [Fact]
    public void A_second_failure_in_the_same_grace_gives_the_same_notice_id_so_it_is_not_sent_again()
    {
        var before = Active();
        var first = SubscriptionDecisions.FailPayment(before, "card_declined", TimeSpan.FromDays(3), 1, Now);
        var inGrace = Write(before, first).After;

        var again = SubscriptionDecisions.FailPayment(inGrace, "card_declined", TimeSpan.FromDays(3), 1, Now.AddDays(1));

        Assert.Equal(Assert.Single(NoticesOf(before, first)).Id, Assert.Single(BillingNotices.From(inGrace, again, Write(inGrace, again).After, Now.AddDays(1))).Id);
    }

    [Fact]
    public void A_failure_after_a_recovery_is_a_new_grace_and_a_new_notice()
    {
        var before = Active();
        var first = SubscriptionDecisions.FailPayment(before, "card_declined", TimeSpan.FromDays(3), 1, Now);
        var recovered = Write(Write(before, first).After, [SubscriptionDecisions.RecoverPayment(Write(before, first).After, Now.AddHours(1))]).After;

        var second = SubscriptionDecisions.FailPayment(recovered, "card_declined", TimeSpan.FromDays(3), 1, Now.AddDays(30));

        Assert.NotEqual(Assert.Single(NoticesOf(before, first)).Id, Assert.Single(NoticesOf(recovered, second)).Id);
    }

    [Fact]
    public void The_grace_lanes_in_the_notice_are_never_more_than_the_plans()
    {
        var before = Active();

        var notice = Assert.Single(NoticesOf(before, SubscriptionDecisions.FailPayment(before, "card_declined", TimeSpan.FromDays(3), 50, Now)));

        Assert.Equal(6, notice.Data.GraceLanes);
    }

    [Theory]
    [InlineData("grace_expired")]
    [InlineData("cancelled")]
    [InlineData("trial_ended")]
    [InlineData("stripe_canceled")]
    public void An_end_calls_for_one_notice_saying_why_and_what_plan_ended(string reason)
    {
        var before = Active();

        var notice = Assert.Single(NoticesOf(before, [SubscriptionDecisions.End(before, reason, "system", Now)]));

        Assert.Equal((BillingNoticeKind.SubscriptionEnded, reason, "pro", 6), (notice.Kind, notice.Data.EndReason, notice.Data.PlanId, notice.Data.PlanLanes));
    }

    [Fact]
    public void Changes_that_are_not_bad_news_call_for_no_email()
    {
        var before = Active();

        Assert.Empty(NoticesOf(before, [SubscriptionDecisions.Cancel(before, "owner", Now)]));
        Assert.Empty(NoticesOf(before, [SubscriptionDecisions.ChangePlan(before, PlanCatalog.Defaults.Single(p => p.Id == "team"), "owner", Now)]));
        Assert.Empty(NoticesOf(before, [SubscriptionDecisions.AdjustReservation(before, 10, null, "launch", "staff-1", Now)]));
    }

    [Fact]
    public void A_trial_gets_its_notice_only_within_the_notice_period_and_once_per_trial_end()
    {
        var trial = Active(trial: true) with { PeriodEnd = Now.AddDays(5) };
        var notice = TimeSpan.FromDays(3);

        Assert.Null(BillingNotices.TrialEnding(trial, notice, Now));
        var due = BillingNotices.TrialEnding(trial, notice, Now.AddDays(2).AddMinutes(1))!;
        Assert.Equal(due.Id, BillingNotices.TrialEnding(trial, notice, Now.AddDays(4))!.Id);
        Assert.Equal((BillingNoticeKind.TrialEnding, Now.AddDays(5), true), (due.Kind, due.Data.TrialEndsAt, due.Data.FreeTrial));
        Assert.Null(BillingNotices.TrialEnding(trial, notice, Now.AddDays(5)));

        var extended = trial with { PeriodEnd = Now.AddDays(12) };
        Assert.NotEqual(due.Id, BillingNotices.TrialEnding(extended, notice, Now.AddDays(10))!.Id);
    }

    [Fact]
    public void A_trial_that_is_cancelled_or_not_a_trial_gets_no_trial_notice()
    {
        var trial = Active(trial: true) with { PeriodEnd = Now.AddDays(1) };

        Assert.Null(BillingNotices.TrialEnding(trial with { CancelsAt = Now.AddDays(1) }, TimeSpan.FromDays(3), Now));
        Assert.Null(BillingNotices.TrialEnding(trial with { Status = SubscriptionStatus.Active }, TimeSpan.FromDays(3), Now));
        Assert.Null(BillingNotices.TrialEnding(trial with { Status = SubscriptionStatus.Paused }, TimeSpan.FromDays(3), Now));
    }

    [Fact]
    public void A_notice_whose_news_is_out_of_date_when_its_turn_comes_no_longer_applies()
    {
        var before = Active();
        var failed = SubscriptionDecisions.FailPayment(before, "card_declined", TimeSpan.FromDays(3), 1, Now);
        var inGrace = Write(before, failed).After;
        var paymentFailed = Assert.Single(NoticesOf(before, failed));
        var ended = Assert.Single(NoticesOf(inGrace, [SubscriptionDecisions.End(inGrace, "grace_expired", "system", Now.AddDays(3))]));

        Assert.True(BillingNotices.StillApplies(paymentFailed, inGrace, Now));
        Assert.False(BillingNotices.StillApplies(paymentFailed, Write(inGrace, [SubscriptionDecisions.RecoverPayment(inGrace, Now)]).After, Now));
        Assert.False(BillingNotices.StillApplies(ended, inGrace with { Status = SubscriptionStatus.Active }, Now));
        Assert.True(BillingNotices.StillApplies(ended, inGrace with { Status = SubscriptionStatus.Ended }, Now));
        Assert.True(BillingNotices.StillApplies(BillingNotices.AuthenticationNeeded(Tenant, "in_1", null, "pro", Now), null, Now));
    }

    [Fact]
    public void Notice_ids_are_the_same_for_the_same_tenant_kind_and_key_and_differ_otherwise()
    {
        Assert.Equal(BillingNotices.IdOf(Tenant, BillingNoticeKind.AuthenticationNeeded, "in_1"), BillingNotices.AuthenticationNeeded(Tenant, "in_1", "https://invoice.stripe.com/i/1", null, Now).Id);
        Assert.NotEqual(BillingNotices.IdOf(Tenant, BillingNoticeKind.AuthenticationNeeded, "in_1"), BillingNotices.IdOf(Guid.NewGuid(), BillingNoticeKind.AuthenticationNeeded, "in_1"));
        Assert.NotEqual(BillingNotices.IdOf(Tenant, BillingNoticeKind.AuthenticationNeeded, "in_1"), BillingNotices.IdOf(Tenant, BillingNoticeKind.PaymentFailed, "in_1"));
    }
}
