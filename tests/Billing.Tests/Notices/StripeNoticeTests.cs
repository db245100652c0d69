using System.Net;
using System.Text.Json.Nodes;
using Lanes.Billing.Notices;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Billing.Tests.Payments;
using Lanes.Testing;
using Marten;
using global::Stripe;
using SubscriptionService = Lanes.Billing.Subscriptions.SubscriptionService;

namespace Lanes.Billing.Tests.Notices;

/// <summary>Billing notices caused by Stripe's webhooks, replayed as Stripe sends them.</summary>
[Collection(HangfireServers.Name)]
public class StripeNoticeTests(BillingWithStripe billing) : IClassFixture<BillingWithStripe>
{
    private DateTimeOffset Now => billing.Clock.GetUtcNow();

    [Fact]
    public async Task A_failed_payment_retried_by_stripe_queues_one_payment_failed_notice()
    {
        var tenant = await billing.Get<TenantService>().CreateAsync($"sn-{Guid.NewGuid():N}"[..20], "Stripe notices", "test", ("user-1", "owner@test.local"));
        var id = $"sub_{Guid.NewGuid():N}"[..20];
        var active = billing.Stripe.PutSubscription(id, "cus_n", tenant.Id, "active", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        Assert.Equal(HttpStatusCode.OK, (await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionCreated, active))).StatusCode);
        await Eventually.Get(() => billing.Get<SubscriptionService>().FindAsync(tenant.Id), s => s is { IsLive: true }, what: "the subscription to start");
        var invoice = FakeStripe.Fixture("invoice");
        invoice["parent"] = new JsonObject
        {
            ["type"] = "subscription_details",
            ["subscription_details"] = new JsonObject { ["subscription"] = id, ["metadata"] = null },
        };

        billing.Stripe.PutSubscription(id, "cus_n", tenant.Id, "past_due", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        foreach (var _ in Enumerable.Range(0, 3))
        {
            await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentFailed, invoice));
        }

        var grace = await Eventually.Get(() => billing.Get<SubscriptionService>().FindAsync(tenant.Id), s => s!.Status == SubscriptionStatus.InGrace, what: "grace to start");
        await Eventually.Get(async () =>
        {
            await using var receipts = billing.Get<IDocumentStore>().QuerySession();
            return await receipts.Query<StripeEventReceipt>().CountAsync(r => r.ProcessedAt == null);
        }, n => n == 0, what: "every delivery to be processed");
        await using var query = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var notice = Assert.Single(await query.Query<BillingNotice>().ToListAsync());
        Assert.Equal((BillingNoticeKind.PaymentFailed, grace!.GraceEndsAt, "pro"), (notice.Kind, notice.Data.GraceEndsAt, notice.Data.PlanId));
    }

    [Fact]
    public async Task A_payment_that_needs_authentication_emails_the_invoice_to_confirm_once_however_often_stripe_asks()
    {
        var tenant = await billing.Get<TenantService>().CreateAsync($"sa-{Guid.NewGuid():N}"[..20], "Stripe 3DS", "test", ("user-1", "owner@test.local"));
        var id = $"sub_{Guid.NewGuid():N}"[..20];
        var customer = $"cus_{Guid.NewGuid():N}"[..20];
        var active = billing.Stripe.PutSubscription(id, customer, tenant.Id, "active", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionCreated, active));
        await Eventually.Get(() => billing.Get<SubscriptionService>().FindAsync(tenant.Id), s => s is { IsLive: true }, what: "the subscription to start");
        var invoice = FakeStripe.Fixture("invoice");
        invoice["id"] = $"in_{Guid.NewGuid():N}"[..20];
        invoice["customer"] = customer;
        invoice["hosted_invoice_url"] = $"https://invoice.stripe.com/i/{invoice["id"]}";
        invoice["parent"] = new JsonObject
        {
            ["type"] = "subscription_details",
            ["subscription_details"] = new JsonObject { ["subscription"] = id, ["metadata"] = null },
        };

        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentActionRequired, invoice));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentActionRequired, invoice));

        var notices = await Eventually.Get(async () =>
        {
            await using var query = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant.Id));
            return await query.Query<BillingNotice>().Where(n => n.Kind == BillingNoticeKind.AuthenticationNeeded).ToListAsync();
        }, n => n.Count > 0, what: "the authentication notice");
        await Eventually.Get(async () =>
        {
            await using var receipts = billing.Get<IDocumentStore>().QuerySession();
            return await receipts.Query<StripeEventReceipt>().CountAsync(r => r.ProcessedAt == null);
        }, n => n == 0, what: "every delivery to be processed");
        await using var after = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var notice = Assert.Single(await after.Query<BillingNotice>().Where(n => n.Kind == BillingNoticeKind.AuthenticationNeeded).ToListAsync());
        Assert.Equal(invoice["hosted_invoice_url"]!.GetValue<string>(), notice.Data.HostedInvoiceUrl);
    }
}
