using System.Net;
using Lanes.Billing.Keys;
using Lanes.Billing.LaneCredits;
using Lanes.Billing.Payments;
using Lanes.Billing.Tenants;
using Lanes.Billing.Tests.Payments;
using Lanes.Billing.Usage;
using Lanes.Testing;
using global::Stripe;
using SubscriptionService = Lanes.Billing.Subscriptions.SubscriptionService;

namespace Lanes.Billing.Tests.LaneCredits;

/// <summary>Service credits in Stripe mode, through Stripe.net against Stripe's documented objects.</summary>
[Collection(HangfireServers.Name)]
public class LaneCreditStripeTests(BillingWithStripe billing) : IClassFixture<BillingWithStripe>
{
    private DateTimeOffset Now => billing.Clock.GetUtcNow();

    /// <summary>A Stripe-paid Pro tenant ($50 a month) whose current period began a day ago, with one key.</summary>
    private async Task<(Tenant Tenant, IssuedKey Key, string SubscriptionId, string Customer)> SubscribedAsync()
    {
        var tenant = await billing.Get<TenantService>().CreateAsync($"c-{Guid.NewGuid():N}"[..20], "Credit tenant", "test", ("user-1", "owner@test.local"));
        var (id, customer) = ($"sub_{Guid.NewGuid():N}"[..20], $"cus_{Guid.NewGuid():N}"[..20]);
        var sub = billing.Stripe.PutSubscription(id, customer, tenant.Id, "active", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        Assert.Equal(HttpStatusCode.OK, (await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionCreated, sub))).StatusCode);
        await Eventually.Get(() => billing.Get<SubscriptionService>().FindAsync(tenant.Id), s => s is { IsLive: true, StripeCustomerId: not null }, TimeSpan.FromSeconds(30), "the subscription to start");
        var key = await billing.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("ci", 10m), "test");
        return (tenant, key, id, customer);
    }

    /// <summary>What gateways would have flushed: an hour of requests within the reservation, some not honoured.</summary>
    private Task RecordAsync(Tenant tenant, IssuedKey key, DateTimeOffset hour, long within, long honoured) =>
        billing.Get<UsageRecorder>().RecordAsync(new UsageBatch(Guid.NewGuid(), "gateway-a",
            [new UsageLine(tenant.Id, key.Key.Id, "lanes-demo", hour, hour, within, 100, 100, 0.01m, 0,
                UsageDetail.Empty with { WithinReservation = within, Honoured = honoured })]));

    [Fact]
    public async Task A_missed_period_is_credited_once_onto_the_customers_stripe_balance_and_a_second_run_credits_nothing()
    {
        var (tenant, key, subscriptionId, customer) = await SubscribedAsync();
        var hour = new DateTimeOffset(Now.UtcDateTime.Date.AddHours(Now.Hour - 1), TimeSpan.Zero);
        await RecordAsync(tenant, key, hour, within: 1000, honoured: 985);

        // Stripe renews the subscription: the period that ended is judged. 98.5 % is under 99 %: 25 % of $50.
        var renewed = billing.Stripe.PutSubscription(subscriptionId, customer, tenant.Id, "active", "price_pro", Now, Now.AddDays(30));
        Assert.Equal(HttpStatusCode.OK, (await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, renewed))).StatusCode);
        await Eventually.Get(() => billing.Get<SubscriptionService>().FindAsync(tenant.Id), s => s!.PeriodsToAssess.Count == 1, TimeSpan.FromSeconds(30), "the renewal");
        billing.Clock.Advance(TimeSpan.FromHours(1)); // past the settle delay
        var credits = billing.Get<LaneCreditService>();

        await credits.AssessEndedPeriodsAsync();
        await credits.AssessEndedPeriodsAsync();

        var sent = Assert.Single(billing.Stripe.To("POST", $"/v1/customers/{customer}/balance_transactions"));
        Assert.Equal(("-1250", "usd"), (sent.Form["amount"], sent.Form["currency"]));
        Assert.Equal(tenant.Id.ToString(), sent.Form["metadata[tenant_id]"]);
        Assert.Contains("98.5% of reserved-lane requests started on time", sent.Form["description"]);
        Assert.Equal(-1250, billing.Stripe.Balances[customer]);
        var subscription = (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!;
        var credit = Assert.Single(subscription.Credits);
        Assert.Equal(12.50m, credit.AmountUsd);
        Assert.StartsWith("cbtxn_", credit.StripeBalanceTransactionId);
        Assert.Equal($"lane-credit-{credit.Id:N}", sent.IdempotencyKey);
        Assert.Empty(subscription.PeriodsToAssess);
    }

    [Fact]
    public async Task A_met_period_is_judged_with_its_figures_and_credits_nothing()
    {
        var (tenant, key, subscriptionId, customer) = await SubscribedAsync();
        var hour = new DateTimeOffset(Now.UtcDateTime.Date.AddHours(Now.Hour - 1), TimeSpan.Zero);
        await RecordAsync(tenant, key, hour, within: 5000, honoured: 5000);
        var renewed = billing.Stripe.PutSubscription(subscriptionId, customer, tenant.Id, "active", "price_pro", Now, Now.AddDays(30));
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, renewed));
        await Eventually.Get(() => billing.Get<SubscriptionService>().FindAsync(tenant.Id), s => s!.PeriodsToAssess.Count == 1, TimeSpan.FromSeconds(30), "the renewal");
        billing.Clock.Advance(TimeSpan.FromHours(1));

        await billing.Get<LaneCreditService>().AssessEndedPeriodsAsync();

        Assert.Empty(billing.Stripe.To("POST", $"/v1/customers/{customer}/balance_transactions"));
        var subscription = (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!;
        Assert.Empty(subscription.Credits);
        Assert.Empty(subscription.PeriodsToAssess);
        var judged = Assert.Single((await billing.Get<Lanes.Billing.Support.SupportQueries>().TimelineAsync(tenant.Id)), e => e.What.StartsWith("Lane objective met", StringComparison.Ordinal));
        Assert.Contains("5,000 of 5,000 requests within the reservation started on time (100 % against 99.9 %); no credit", judged.What);
    }

    [Fact]
    public async Task Staff_grant_and_reverse_a_credit_with_a_reason_and_both_reach_the_stripe_balance()
    {
        var (tenant, _, _, customer) = await SubscribedAsync();
        var credits = billing.Get<LaneCreditService>();

        var granted = await credits.GrantAsync(tenant.Id, 20m, "Outage on 1 Nov not in the figures", "staff-1", Guid.NewGuid());
        await credits.ReverseAsync(tenant.Id, granted.CreditId, "Granted to the wrong organisation", "staff-1");

        Assert.Equal([-2000L, 2000L], billing.Stripe.To("POST", $"/v1/customers/{customer}/balance_transactions").Select(r => long.Parse(r.Form["amount"], System.Globalization.CultureInfo.InvariantCulture)));
        Assert.Equal(0, billing.Stripe.Balances[customer]);
        var subscription = (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!;
        Assert.True(Assert.Single(subscription.Credits).Reversed);
        Assert.Equal(0m, subscription.CreditBalanceUsd);
        var timeline = await billing.Get<Lanes.Billing.Support.SupportQueries>().TimelineAsync(tenant.Id);
        Assert.Contains(timeline, e => e.What == "Service credit of $20.00 granted: Outage on 1 Nov not in the figures" && e.By == "staff-1");
        Assert.Contains(timeline, e => e.What == "Service credit of $20.00 reversed: Granted to the wrong organisation");
        await Assert.ThrowsAsync<RuleViolation>(() => credits.ReverseAsync(tenant.Id, granted.CreditId, "again", "staff-1"));
        await Assert.ThrowsAsync<RuleViolation>(() => credits.GrantAsync(tenant.Id, 5m, " ", "staff-1", Guid.NewGuid()));
    }
}
