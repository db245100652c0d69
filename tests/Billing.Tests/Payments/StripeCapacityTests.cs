using System.Net;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Marten;
using global::Stripe;
using SubscriptionService = Lanes.Billing.Subscriptions.SubscriptionService;

namespace Lanes.Billing.Tests.Payments;

/// <summary>Lanes are sold only while capacity exists, also while customers are paying: an open checkout sets its
/// plan's lanes aside, and Stripe subscriptions started beyond capacity are served and reported. The cluster has 12
/// paid lanes (two Pro plans) and is fresh for each test.</summary>
[Collection(HangfireServers.Name)]
public sealed class StripeCapacityTests : IAsyncLifetime
{
    private readonly SmallClusterWithStripe _billing = new();

    public Task InitializeAsync() => _billing.InitializeAsync();

    public Task DisposeAsync() => _billing.DisposeAsync();

    private DateTimeOffset Now => _billing.Clock.GetUtcNow();

    private async Task<Tenant> NewTenantAsync() =>
        await _billing.Get<TenantService>().CreateAsync($"c-{Guid.NewGuid():N}"[..20], "Capacity tenant", "test", ("user-1", "owner@test.local"));

    private Task<string> CheckoutAsync(Tenant tenant, string plan = "pro") =>
        _billing.Get<StripeBilling>().CheckoutAsync(tenant.Id, plan, "owner@test.local", Guid.NewGuid());

    /// <summary>Stripe's checkout.session event for a session the fake holds, as it ends.</summary>
    private async Task CloseAsync(string url, string type, string status, string paymentStatus, string? subscriptionId = null)
    {
        var session = _billing.Stripe.Sessions[url.Split('/').Last()];
        session["status"] = status;
        session["payment_status"] = paymentStatus;
        session["client_reference_id"] = session["metadata"]!["tenant_id"]!.GetValue<string>();
        session["subscription"] = subscriptionId;
        Assert.Equal(HttpStatusCode.OK, (await _billing.DeliverAsync(_billing.Event(type, session))).StatusCode);
    }

    /// <summary>The customer Lanes created for the checkout at <paramref name="url"/>.</summary>
    private string CustomerOf(string url) => _billing.Stripe.Sessions[url.Split('/').Last()]["customer"]!.GetValue<string>();

    private async Task<int> ProcessedEventsAsync()
    {
        await using var query = _billing.Get<IDocumentStore>().QuerySession();
        return await query.Query<StripeEventReceipt>().Where(r => r.ProcessedAt != null).CountAsync();
    }

    private async Task<int> FreeLanesAsync()
    {
        var (allocated, total) = await _billing.Get<SubscriptionService>().CapacityAsync();
        return total - 8 - allocated;
    }

    [Fact]
    public async Task An_open_checkout_sets_its_lanes_aside_so_the_last_free_lanes_are_never_sold_twice_and_expiry_frees_them()
    {
        var first = await NewTenantAsync();
        var second = await NewTenantAsync();
        var third = await NewTenantAsync();
        var firstUrl = await CheckoutAsync(first);
        await CheckoutAsync(second);

        var refused = await Assert.ThrowsAsync<RuleViolation>(() => CheckoutAsync(third));
        Assert.Equal("capacity_exceeded", refused.Code);
        Assert.Equal(0, await FreeLanesAsync());

        // The first customer walks away: Stripe expires the session, and its lanes are free again.
        await CloseAsync(firstUrl, EventTypes.CheckoutSessionExpired, "expired", "unpaid");
        await Eventually.Get(FreeLanesAsync, free => free == 6, TimeSpan.FromSeconds(30), "the expired checkout's lanes to be freed");
        Assert.StartsWith("https://checkout.stripe.com/", await CheckoutAsync(third));
    }

    [Fact]
    public async Task Lanes_set_aside_lapse_with_the_session_even_when_no_webhook_comes()
    {
        await CheckoutAsync(await NewTenantAsync());
        await CheckoutAsync(await NewTenantAsync());
        Assert.Equal(0, await FreeLanesAsync());

        _billing.Clock.Advance(TimeSpan.FromHours(24));

        Assert.Equal(12, await FreeLanesAsync());
    }

    [Fact]
    public async Task A_paid_checkout_hands_its_lanes_to_the_subscription_without_counting_them_twice()
    {
        var tenant = await NewTenantAsync();
        var url = await CheckoutAsync(tenant);
        var sub = _billing.Stripe.PutSubscription("sub_paid_checkout", CustomerOf(url), tenant.Id, "active", "price_pro", Now, Now.AddDays(30));

        await CloseAsync(url, EventTypes.CheckoutSessionCompleted, "complete", "paid", "sub_paid_checkout");

        await Eventually.Get(() => _billing.Get<SubscriptionService>().FindAsync(tenant.Id), s => s is { IsLive: true }, TimeSpan.FromSeconds(30), "the subscription to start");
        Assert.Equal(6, await FreeLanesAsync());
        Assert.Null(await _billing.Get<SubscriptionService>().FindPendingAsync(tenant.Id));
        Assert.Equal("active", sub["status"]!.GetValue<string>());
    }

    [Fact]
    public async Task A_bank_debit_still_processing_keeps_the_lanes_aside_refuses_a_second_checkout_and_a_failure_frees_them()
    {
        var tenant = await NewTenantAsync();
        var url = await CheckoutAsync(tenant);
        _billing.Stripe.PutSubscription("sub_debit", CustomerOf(url), tenant.Id, "incomplete", "price_pro", Now, Now.AddDays(30));

        await CloseAsync(url, EventTypes.CheckoutSessionCompleted, "complete", "unpaid", "sub_debit");
        var processing = await Eventually.Get(() => _billing.Get<SubscriptionService>().FindPendingAsync(tenant.Id), p => p is { PaymentProcessing: true },
            TimeSpan.FromSeconds(30), "the payment to be processing");

        // The session has ended, but the payment may still succeed: the lanes stay aside beyond its 24 hours.
        Assert.True(processing!.ExpiresAt > Now.AddDays(7));
        var refused = await Assert.ThrowsAsync<RuleViolation>(() => CheckoutAsync(tenant, "starter"));
        Assert.Equal("payment_processing", refused.Code);
        Assert.Null(await _billing.Get<SubscriptionService>().FindAsync(tenant.Id));

        await CloseAsync(url, EventTypes.CheckoutSessionAsyncPaymentFailed, "complete", "unpaid", "sub_debit");
        await Eventually.Get(FreeLanesAsync, free => free == 12, TimeSpan.FromSeconds(30), "the failed payment's lanes to be freed");
    }

    [Fact]
    public async Task A_dashboard_subscription_with_quantity_two_serves_twice_the_lanes_and_beyond_capacity_is_served_and_reported()
    {
        var tenant = await NewTenantAsync();
        var other = await NewTenantAsync();
        var two = _billing.Stripe.PutSubscription("sub_dash_two", "cus_dash", tenant.Id, "active", "price_pro", Now, Now.AddDays(30), quantity: 2);

        await _billing.DeliverAsync(_billing.Event(EventTypes.CustomerSubscriptionCreated, two));
        var s = await Eventually.Get(() => _billing.Get<SubscriptionService>().FindAsync(tenant.Id), x => x is { IsLive: true }, TimeSpan.FromSeconds(30), "the Dashboard subscription");
        Assert.Equal(("pro", 12), (s!.PlanId, s.ReservedLanesAt(Now)));

        // The cluster is full; staff make another one in the Dashboard and Stripe charges for it.
        var more = _billing.Stripe.PutSubscription("sub_dash_more", "cus_more", other.Id, "active", "price_pro", Now, Now.AddDays(30));
        await _billing.DeliverAsync(_billing.Event(EventTypes.CustomerSubscriptionCreated, more));
        var over = await Eventually.Get(() => _billing.Get<SubscriptionService>().FindAsync(other.Id), x => x is { IsLive: true }, TimeSpan.FromSeconds(30), "the overbooked subscription");
        Assert.Equal(6, over!.ReservedLanesAt(Now));
        await using var query = _billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(other.Id));
        var reported = (await query.Events.FetchStreamAsync(SubscriptionStreams.For(other.Id))).Select(e => e.Data).OfType<CapacityOverbooked>().Single();
        Assert.Equal((6, 0), (reported.Lanes, reported.FreeLanes));
    }

    [Fact]
    public async Task A_subscription_whose_metadata_names_a_tenant_its_customer_does_not_belong_to_serves_nobody()
    {
        var owner = await NewTenantAsync();
        var victim = await NewTenantAsync();
        var customerId = CustomerOf(await CheckoutAsync(owner)); // Lanes creates the owner's customer

        var misfiled = _billing.Stripe.PutSubscription("sub_misfiled", customerId, victim.Id, "active", "price_pro", Now, Now.AddDays(30));
        var response = await _billing.DeliverAsync(_billing.Event(EventTypes.CustomerSubscriptionCreated, misfiled));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await Eventually.Get(ProcessedEventsAsync, n => n >= 1, TimeSpan.FromSeconds(30), "the event to be processed");
        Assert.Null(await _billing.Get<SubscriptionService>().FindAsync(victim.Id));
        Assert.Null(await _billing.Get<SubscriptionService>().FindAsync(owner.Id));
    }
}
