using System.Net;
using Lanes.Billing.LaneCredits;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Usage;
using Lanes.Inference.Metering;
using Lanes.Testing;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.LaneScheduling;

/// <summary>
/// A node whose engine runs 2 requests at once under a plan that reserves 4 lanes (capacity configured far above the
/// node, as when a node is lost or shrunk under what was sold): a request is honoured when it starts within 500 ms;
/// a slow request takes a second. Credits are judged as soon as a period ends. Billing is in Stripe mode, against
/// Stripe's documented objects replayed on loopback (<see cref="FakeStripe"/>).
/// </summary>
public sealed class ShrunkNode : GatewayOnKestrel
{
    // Started before the host is built: its address is part of the settings.
    public FakeStripe Stripe { get; } = FakeStripe.StartAsync().GetAwaiter().GetResult();

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        await Stripe.DisposeAsync();
    }

    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Stripe:SecretKey", "sk_test_lanes"),
        new("Stripe:WebhookSecret", "whsec_test_lanes"),
        new("Stripe:ApiBase", Stripe.ApiBase),
        new("Stripe:MaxNetworkRetries", "0"),
        new("Stripe:Prices:four", "price_four"),
        new("Engine:Scripted:Slots", "2"),
        new("Engine:Scripted:Tokens", "50"),
        new("Engine:Scripted:TokenDelay", "00:00:00.020"),
        new("Gateway:Lanes:QueueLength", "8"),
        new("Gateway:Lanes:QueueTimeout", "00:00:20"),
        new("Capacity:Source", "Configured"),
        new("Capacity:TotalLanes", "1000"),
        new("Plans:Tiers:0:Id", "four"),
        new("Plans:Tiers:0:Name", "Four lanes"),
        new("Plans:Tiers:0:MonthlyPriceUsd", "200"),
        new("Plans:Tiers:0:ReservedLanes", "4"),
        new("Plans:Tiers:0:RequestsPerWindow", "1000"),
        new("Plans:Tiers:0:DefaultKeyBudgetUsd", "10"),
        new("Plans:Tiers:0:Window", "8h"),
        new("Plans:Tiers:0:Slo:AdmissionTargetMs", "500"),
        new("LaneCredits:SettleDelay", "00:00:00"),
    ];
}

public class LanePromiseTests(ShrunkNode gateway) : IClassFixture<ShrunkNode>
{
    private const string Slow = """{"model":"scripted","messages":[{"role":"user","content":"hi"}]}""";
    private const string Quick = """{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":1}""";

    [Fact]
    public async Task When_a_node_runs_fewer_requests_than_the_reservation_the_waiting_ones_are_missed_and_the_period_earns_one_stripe_credit_once()
    {
        var (tenant, key) = await gateway.TenantWithKey(plan: "four");
        const string Customer = "cus_shrunk_node";
        await gateway.Get<SubscriptionService>().RecordAsync(tenant.Id, _ => [new StripeSubscriptionLinked(tenant.Id, Customer, "sub_shrunk_node", DateTimeOffset.UtcNow)]);
        using var http = gateway.Http();

        // Six requests one at a time: each starts at once.
        for (var i = 0; i < 6; i++)
        {
            using var quick = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Quick));
            Assert.Equal(HttpStatusCode.OK, quick.StatusCode);
        }

        // Four at once, within the 4 reserved lanes: the node runs two, the other two wait about a second.
        var flood = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => http.SendAsync(Post("/v1/chat/completions", key.Secret, Slow))));
        Assert.All(flood, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        await gateway.Get<UsageFlusher>().FlushAsync(CancellationToken.None);

        var usage = await gateway.Get<UsageReports>().ForTenantAsync(tenant.Id, UsageQuery.LastDays(DateTimeOffset.UtcNow, 1, UsageGranularity.Hour));
        Assert.Equal((10L, 8L), (usage.Totals.WithinReservation, usage.Totals.Honoured));
        Assert.Equal(80, usage.Totals.HonouredPercent);
        // The peak the dashboard shows: the node never ran more than its two slots of the four lanes reserved.
        Assert.Equal(2, usage.Totals.PeakLanes);
        Assert.True(usage.Totals.ReservedWaitSeconds(0.99) >= 1, $"p99 admission wait {usage.Totals.ReservedWaitSeconds(0.99)} s");

        // The period closes (here: the subscription ends). 80 % is under 95 %: half the $200 fee comes back, once,
        // onto the customer's Stripe balance for the next invoice.
        await gateway.Get<SubscriptionService>().EndAsync(tenant.Id, "cancelled", "test");
        var credits = gateway.Get<LaneCreditService>();
        Assert.Equal(1, await credits.AssessEndedPeriodsAsync());
        Assert.Equal(0, await credits.AssessEndedPeriodsAsync());

        var subscription = (await gateway.Get<SubscriptionService>().FindAsync(tenant.Id))!;
        var credit = Assert.Single(subscription.Credits);
        Assert.Equal(100.00m, credit.AmountUsd);
        Assert.Contains("80 % of within-reservation requests honoured against 99.9 %", credit.Why);
        Assert.Empty(subscription.PeriodsToAssess);
        Assert.Equal(100.00m, subscription.CreditBalanceUsd);
        var sent = Assert.Single(gateway.Stripe.To("POST", $"/v1/customers/{Customer}/balance_transactions"));
        Assert.Equal(("-10000", "usd", $"lane-credit-{credit.Id:N}"), (sent.Form["amount"], sent.Form["currency"], sent.IdempotencyKey));
        Assert.Equal(-10000, gateway.Stripe.Balances[Customer]);
        Assert.StartsWith("cbtxn_", credit.StripeBalanceTransactionId);
    }
}
