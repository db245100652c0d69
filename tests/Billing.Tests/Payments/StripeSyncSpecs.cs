using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;

namespace Lanes.Billing.Tests.Payments;

/// <summary>Stripe's current view of a subscription → the events that bring Lanes in line. No database.</summary>
public class StripeSyncSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);
    private static readonly Guid Tenant = Guid.NewGuid();
    private static readonly PlanCatalog Plans = new(PlanCatalog.Defaults.Select(p => p with { StripePriceId = $"price_{p.Id}" }));

    private static StripeView Remote(string status = "active", string plan = "pro", bool cancel = false, int periodDays = 30) =>
        new("sub_1", "cus_1", status, $"price_{plan}", Now.AddDays(-1), Now.AddDays(periodDays - 1), cancel, Tenant);

    /// <summary>Prices as the catalog has them, plus one legacy Pro price kept for its early subscribers.</summary>
    private static PlanTier? PlanForPrice(string? price) =>
        price == "price_pro_2025" ? Plans.Find("pro") : Plans.Tiers.FirstOrDefault(p => p.StripePriceId == price);

    private static IReadOnlyList<object> Sync(Subscription? local, StripeView remote, DateTimeOffset? at = null) =>
        StripeSync.Decide(local, remote, Tenant, PlanForPrice, TimeSpan.FromDays(3), 1, "stripe", at ?? Now);

    private static Subscription Apply(Subscription? s, IEnumerable<object> events) => events.Aggregate(s, Subscription.After)!;

    [Fact]
    public void An_active_stripe_subscription_starts_the_plan_and_links_it()
    {
        var events = Sync(null, Remote());

        Assert.Collection(events, e => Assert.IsType<SubscriptionStarted>(e), e => Assert.IsType<StripeSubscriptionLinked>(e));
        var s = Apply(null, events);
        Assert.Equal((SubscriptionStatus.Active, 6, "sub_1"), (s.Status, s.ReservedLanesAt(Now), s.StripeSubscriptionId));
    }

    [Fact]
    public void The_same_view_twice_changes_nothing_the_second_time()
    {
        var s = Apply(null, Sync(null, Remote()));

        Assert.Empty(Sync(s, Remote()));
    }

    [Fact]
    public void An_incomplete_checkout_reserves_nothing()
    {
        Assert.Empty(Sync(null, Remote("incomplete")));
    }

    [Fact]
    public void An_upgrade_applies_at_once_and_a_downgrade_at_the_end_of_the_paid_period()
    {
        var pro = Apply(null, Sync(null, Remote(plan: "pro")));

        var team = Apply(pro, Sync(pro, Remote(plan: "team")));
        Assert.Equal(32, team.ReservedLanesAt(Now));

        var downgrade = Sync(team, Remote(plan: "starter"));
        var scheduled = Assert.IsType<PlanChangeScheduled>(Assert.Single(downgrade));
        Assert.Equal(team.PeriodEnd, scheduled.EffectiveAt);
        var waiting = Apply(team, downgrade);
        Assert.Equal(32, waiting.ReservedLanesAt(Now));
        Assert.Empty(Sync(waiting, Remote(plan: "starter")));
        var applied = SubscriptionDecisions.ApplyScheduledChange(waiting, team.PeriodEnd)!;
        Assert.Equal(2, Subscription.After(waiting, applied)!.ReservedLanesAt(team.PeriodEnd));
    }

    [Fact]
    public void Past_due_starts_grace_with_reduced_lanes_and_active_again_restores_the_plan()
    {
        var s = Apply(null, Sync(null, Remote()));

        var failing = Apply(s, Sync(s, Remote("past_due")));
        Assert.Equal((SubscriptionStatus.InGrace, 1), (failing.Status, failing.ReservedLanesAt(Now)));
        Assert.Empty(Sync(failing, Remote("past_due")));

        var paid = Apply(failing, Sync(failing, Remote("active")));
        Assert.Equal((SubscriptionStatus.Active, 6), (paid.Status, paid.ReservedLanesAt(Now)));
    }

    [Fact]
    public void Cancel_at_period_end_and_its_undo_follow_stripe()
    {
        var s = Apply(null, Sync(null, Remote()));

        var cancelling = Apply(s, Sync(s, Remote(cancel: true)));
        Assert.Equal(SubscriptionStatus.Cancelling, cancelling.Status);
        Assert.Equal(SubscriptionStatus.Active, Apply(cancelling, Sync(cancelling, Remote(cancel: false))).Status);
    }

    [Fact]
    public void Canceled_in_stripe_ends_the_subscription_once()
    {
        var s = Apply(null, Sync(null, Remote()));

        var ended = Apply(s, Sync(s, Remote("canceled")));

        Assert.Equal(SubscriptionStatus.Ended, ended.Status);
        Assert.Empty(Sync(ended, Remote("canceled")));
    }

    [Fact]
    public void A_renewal_moves_the_period_and_a_pause_reserves_no_lanes()
    {
        var s = Apply(null, Sync(null, Remote()));

        var renewed = Apply(s, Sync(s, Remote(periodDays: 60)));
        Assert.Equal(Now.AddDays(59), renewed.PeriodEnd);

        var paused = Apply(renewed, Sync(renewed, Remote("paused", periodDays: 60)));
        Assert.Equal(0, paused.ReservedLanesAt(Now));
        Assert.Equal(6, Apply(paused, Sync(paused, Remote(periodDays: 60))).ReservedLanesAt(Now));
    }

    [Fact]
    public void Another_stripe_subscription_of_the_customer_cannot_end_or_replace_the_linked_one()
    {
        var s = Apply(null, Sync(null, Remote()));

        Assert.Empty(Sync(s, Remote("canceled") with { SubscriptionId = "sub_old" }));
        Assert.Empty(Sync(s, Remote(plan: "team") with { SubscriptionId = "sub_second" }));
        var ended = Apply(s, Sync(s, Remote("canceled")));
        Assert.Equal("sub_2", Apply(ended, Sync(ended, Remote() with { SubscriptionId = "sub_2" })).StripeSubscriptionId);
    }

    [Fact]
    public void A_price_outside_the_catalog_is_refused_not_guessed()
    {
        var error = Assert.Throws<RuleViolation>(() => Sync(null, Remote() with { PriceId = "price_unknown" }));
        Assert.Equal("unknown_price", error.Code);
    }

    [Fact]
    public void A_subscription_lanes_ended_for_not_paying_stays_ended_while_stripe_retries_and_comes_back_only_when_paid()
    {
        var active = Apply(null, Sync(null, Remote()));
        var failing = Apply(active, Sync(active, Remote("past_due")));
        var ended = Apply(failing, [SubscriptionDecisions.EndIfLapsed(failing, failing.GraceEndsAt!.Value)!]);
        Assert.Equal("grace_expired", ended.EndReason);

        Assert.Empty(Sync(ended, Remote("past_due")));
        Assert.Empty(Sync(ended, Remote("unpaid")));
        Assert.Empty(Sync(ended, Remote("active", cancel: true)));

        // The late payment clears the invoice before Stripe canceled it: the subscription is live again.
        var back = Sync(ended, Remote("active"));
        Assert.Equal(ended.EndedAt, Assert.Single(back.OfType<SubscriptionRestored>()).EndedAt);
        var restored = Apply(ended, back);
        Assert.Equal((SubscriptionStatus.Active, 6, ended.EndedAt), (restored.Status, restored.ReservedLanesAt(Now), restored.RestoredAfter));
    }

    [Fact]
    public void A_subscriber_on_a_legacy_price_keeps_the_plan_renews_and_fails_like_any_other()
    {
        var legacy = Remote() with { PriceId = "price_pro_2025" };
        var s = Apply(null, Sync(null, legacy));
        Assert.Equal(("pro", 6), (s.PlanId, s.ReservedLanesAt(Now)));

        var renewed = Apply(s, Sync(s, legacy with { PeriodEnd = legacy.PeriodEnd.AddDays(30) }));
        Assert.Equal(legacy.PeriodEnd.AddDays(30), renewed.PeriodEnd);
        var failing = Apply(renewed, Sync(renewed, legacy with { Status = "past_due", PeriodEnd = legacy.PeriodEnd.AddDays(30) }));
        Assert.Equal(SubscriptionStatus.InGrace, failing.Status);
    }

    [Fact]
    public void A_price_no_plan_knows_keeps_the_lanes_tells_staff_once_and_still_handles_failure_and_cancellation()
    {
        var s = Apply(null, Sync(null, Remote()));
        var unknown = Remote() with { PriceId = "price_made_in_the_dashboard" };

        var told = Sync(s, unknown);
        Assert.Equal("price_made_in_the_dashboard", Assert.IsType<UnknownStripePriceFound>(Assert.Single(told)).PriceId);
        var flagged = Apply(s, told);
        Assert.Equal(("pro", 6), (flagged.PlanId, flagged.ReservedLanesAt(Now)));
        Assert.Empty(Sync(flagged, unknown));

        var failing = Apply(flagged, Sync(flagged, unknown with { Status = "past_due" }));
        Assert.Equal(SubscriptionStatus.InGrace, failing.Status);
        var cancelled = Apply(failing, Sync(failing, unknown with { Status = "past_due", CancelAtPeriodEnd = true }));
        Assert.Equal(unknown.PeriodEnd, cancelled.CancelsAt);

        // Mapped by staff (or the price changed back): the flag clears once.
        Assert.Null(Apply(flagged, Sync(flagged, Remote())).UnknownStripePrice);
    }

    [Fact]
    public void Cancelling_during_grace_keeps_the_reduced_lanes_and_the_grace_end_and_it_ends_at_the_first_of_the_two()
    {
        var s = Apply(null, Sync(null, Remote()));
        var grace = Apply(s, Sync(s, Remote("past_due")));
        Assert.Equal(1, grace.ReservedLanesAt(Now));

        var cancelled = Apply(grace, Sync(grace, Remote("past_due", cancel: true)));
        Assert.Equal((SubscriptionStatus.InGrace, 1, grace.GraceEndsAt), (cancelled.Status, cancelled.ReservedLanesAt(Now), cancelled.GraceEndsAt));

        var resumed = Apply(cancelled, Sync(cancelled, Remote("past_due")));
        Assert.Equal((SubscriptionStatus.InGrace, 1, (DateTimeOffset?)null), (resumed.Status, resumed.ReservedLanesAt(Now), resumed.CancelsAt));

        Assert.Equal("grace_expired", SubscriptionDecisions.EndIfLapsed(cancelled, grace.GraceEndsAt!.Value)!.Reason);
    }

    [Fact]
    public void Quantity_two_of_a_plan_reserves_twice_its_lanes_and_requests_and_a_second_item_adds_its_own()
    {
        var two = Apply(null, Sync(null, Remote() with { Items = [new StripeItem("price_pro", 2)] }));
        Assert.Equal(("pro", 12, 2 * Plans.Find("pro")!.RequestsPerWindow), (two.PlanId, two.ReservedLanesAt(Now), two.RequestsPerWindow));

        // A Team seat added beside them: named after the biggest part, every lane counted.
        var mixed = Apply(two, Sync(two, Remote() with { Items = [new StripeItem("price_pro", 2), new StripeItem("price_team", 1)] }));
        Assert.Equal(("team", 44), (mixed.PlanId, mixed.ReservedLanesAt(Now)));

        // Back to one Pro: fewer lanes, so it waits for the period end like any downgrade.
        Assert.Equal(6, Assert.IsType<PlanChangeScheduled>(Assert.Single(Sync(mixed, Remote()))).PlanLanes);
    }

    [Fact]
    public void An_unknown_add_on_price_beside_a_plan_is_reported_but_the_plan_still_starts()
    {
        var s = Apply(null, Sync(null, Remote() with { Items = [new StripeItem("price_pro", 1), new StripeItem("price_support", 1)] }));

        Assert.Equal(("pro", 6, "price_support"), (s.PlanId, s.ReservedLanesAt(Now), s.UnknownStripePrice));
    }

    [Fact]
    public void A_cancel_at_date_ends_the_subscription_then_not_at_the_period_end()
    {
        var s = Apply(null, Sync(null, Remote()));
        var at = Now.AddDays(10);

        var cancelling = Apply(s, Sync(s, Remote() with { CancelAt = at }));
        Assert.Equal((SubscriptionStatus.Cancelling, at), (cancelling.Status, cancelling.CancelsAt));
        Assert.Null(SubscriptionDecisions.EndIfLapsed(cancelling, at.AddSeconds(-1)));
        Assert.Equal("cancelled", SubscriptionDecisions.EndIfLapsed(cancelling, at)!.Reason);

        var moved = Apply(cancelling, Sync(cancelling, Remote() with { CancelAt = at.AddDays(5) }));
        Assert.Equal(at.AddDays(5), moved.CancelsAt);
        Assert.Null(Apply(moved, Sync(moved, Remote())).CancelsAt);
    }

    [Fact]
    public void Paused_collection_keeps_the_lanes_and_is_on_record_until_it_resumes()
    {
        var s = Apply(null, Sync(null, Remote()));

        var paused = Apply(s, Sync(s, Remote() with { CollectionPause = "void", CollectionResumesAt = Now.AddDays(14) }));
        Assert.Equal(("void", Now.AddDays(14), 6, SubscriptionStatus.Active), (paused.CollectionPause, paused.CollectionResumesAt, paused.ReservedLanesAt(Now), paused.Status));
        Assert.Empty(Sync(paused, Remote() with { CollectionPause = "void", CollectionResumesAt = Now.AddDays(14) }));

        Assert.Null(Apply(paused, Sync(paused, Remote())).CollectionPause);
    }

    [Fact]
    public void A_schedule_moving_to_a_smaller_plan_is_a_downgrade_at_its_date_and_releasing_it_undoes_the_downgrade()
    {
        var team = Apply(null, Sync(null, Remote(plan: "team")));
        var at = team.PeriodEnd;
        var withSchedule = Remote(plan: "team") with { ScheduleId = "sub_sched_1", ScheduledItems = [new StripeItem("price_starter", 1)], ScheduledAt = at };

        var scheduled = Apply(team, Sync(team, withSchedule));
        Assert.Equal(("starter", 2, at, 32), (scheduled.ScheduledChange!.To, scheduled.ScheduledChange.PlanLanes, scheduled.ScheduledChange.EffectiveAt, scheduled.ReservedLanesAt(Now)));
        Assert.Empty(Sync(scheduled, withSchedule));

        var undone = Sync(scheduled, Remote(plan: "team"));
        Assert.Equal("starter", Assert.IsType<ScheduledPlanChangeCanceled>(Assert.Single(undone)).To);
        Assert.Null(Apply(scheduled, undone).ScheduledChange);
    }
}
