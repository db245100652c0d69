using Lanes.Billing.LaneCredits;
using Lanes.Billing.Plans;
using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;

namespace Lanes.Billing.Tests.LaneCredits;

public class LaneCreditSpecs
{
    private static readonly DateTimeOffset Start = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);

    [Theory]
    [InlineData(100.0, 0.0)]
    [InlineData(99.9, 0.0)]
    [InlineData(99.89, 10.0)]
    [InlineData(99.0, 10.0)]
    [InlineData(98.99, 25.0)]
    [InlineData(95.0, 25.0)]
    [InlineData(94.99, 50.0)]
    [InlineData(0.0, 50.0)]
    public void A_period_earns_the_largest_tier_its_honoured_share_falls_under(double honoured, double creditPercent) =>
        Assert.Equal(creditPercent, LaneSlo.Default.CreditPercentFor(honoured));

    [Fact]
    public void A_credit_is_whole_cents_of_the_fee_and_a_period_without_requests_in_reservation_earns_nothing()
    {
        var tenant = Guid.NewGuid();
        var period = new EndedPeriod(Start, Start.AddDays(30), "pro");

        var missed = LaneCreditDecisions.Assess(tenant, period, new PromiseFigures(3, 2), LaneSlo.Default, 33.33m, Start.AddDays(31));
        var idle = LaneCreditDecisions.Assess(tenant, period, new PromiseFigures(0, 0), LaneSlo.Default, 33.33m, Start.AddDays(31));

        Assert.Equal((50.0, 16.66m), (missed.CreditPercent, missed.CreditUsd));
        Assert.Equal((0.0, 0m, 100.0), (idle.CreditPercent, idle.CreditUsd, idle.HonouredPercent));
        Assert.Equal(missed.CreditId, LaneCreditDecisions.CreditIdOf(tenant, Start));
    }

    [Fact]
    public void Consecutive_periods_own_disjoint_hours_and_a_final_period_owns_the_hour_it_ends_in()
    {
        var first = new EndedPeriod(Start, Start.AddDays(30), "pro");
        var next = new EndedPeriod(Start.AddDays(30), Start.AddDays(60), "pro");
        var final = new EndedPeriod(Start.AddDays(60), Start.AddDays(60).AddMinutes(5), "pro", Final: true);

        Assert.Equal((Start.AddMinutes(-30), Start.AddDays(30).AddMinutes(-30)), first.Hours);
        Assert.Equal(first.Hours.To, next.Hours.From);
        Assert.Equal((next.Hours.To, next.Hours.To.AddHours(1)), final.Hours);
    }

    [Fact]
    public void A_renewal_or_an_end_leaves_the_paid_period_to_judge_but_a_free_trial_or_an_extension_does_not()
    {
        var started = Subscription.Create(new SubscriptionStarted(Guid.NewGuid(), "pro", 6, 100, TimeSpan.FromHours(8), SubscriptionStatus.Active, Start, Start.AddDays(30), "test", Start));
        var renewed = started.Apply(new SubscriptionRenewed(started.TenantId, Start.AddDays(30), Start.AddDays(60), "system", Start.AddDays(30)));
        var extended = started.Apply(new SubscriptionRenewed(started.TenantId, Start, Start.AddDays(45), "staff", Start.AddDays(3)));
        var ended = renewed.Apply(new SubscriptionEnded(started.TenantId, "cancelled", "test", Start.AddDays(40)));
        var trial = Subscription.Create(new SubscriptionStarted(Guid.NewGuid(), "pro", 2, 100, TimeSpan.FromHours(8), SubscriptionStatus.Trialing, Start, Start.AddDays(14), "test", Start, FreeTrial: true))
            .Apply(new SubscriptionEnded(Guid.Empty, "trial_ended", "system", Start.AddDays(14)));

        Assert.Equal([new EndedPeriod(Start, Start.AddDays(30), "pro")], renewed.PeriodsToAssess);
        Assert.Empty(extended.PeriodsToAssess);
        Assert.Equal(new EndedPeriod(Start.AddDays(30), Start.AddDays(40), "pro", Final: true), ended.PeriodsToAssess[^1]);
        Assert.Empty(trial.PeriodsToAssess);
    }

    [Fact]
    public void A_plans_objective_and_tiers_are_validated_at_start()
    {
        var options = new PlanOptions
        {
            Tiers =
            [
                new PlanTierOptions
                {
                    Id = "pro", Name = "Pro", RequestsPerWindow = 10,
                    Slo = new LaneSloOptions { AdmissionTargetMs = 0, TargetPercent = 99, Credits = [new SloCreditTierOptions { BelowPercent = 99.5, CreditPercent = 10 }] },
                },
            ],
        };

        var result = new PlanOptionsValidator().Validate(null, options);

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("AdmissionTargetMs", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("no credit tier may start above the target of 99 %", StringComparison.Ordinal));
    }
}
