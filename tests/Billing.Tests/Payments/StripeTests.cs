using System.Net;
using Lanes.Billing.Jobs;
using Lanes.Billing.Keys;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Marten;
using global::Stripe;
using SubscriptionService = Lanes.Billing.Subscriptions.SubscriptionService;

namespace Lanes.Billing.Tests.Payments;

[Collection(HangfireServers.Name)]
public class StripeTests(BillingWithStripe billing) : IClassFixture<BillingWithStripe>
{
    private DateTimeOffset Now => billing.Clock.GetUtcNow();

    private async Task<Tenant> NewTenantAsync() =>
        await billing.Get<TenantService>().CreateAsync($"s-{Guid.NewGuid():N}"[..20], "Stripe tenant", "test", ("user-1", "owner@test.local"));

    private Task<Lanes.Billing.Subscriptions.Subscription> LanesSubscription(Guid tenantId, Func<Lanes.Billing.Subscriptions.Subscription?, bool> done, string what) =>
        Eventually.Get(() => billing.Get<SubscriptionService>().FindAsync(tenantId), s => done(s), TimeSpan.FromSeconds(30), what)!;

    /// <summary>An invoice of the subscription, as Stripe's invoice events carry it (the subscription under its parent).</summary>
    private static System.Text.Json.Nodes.JsonObject InvoiceOf(string subscriptionId)
    {
        var invoice = FakeStripe.Fixture("invoice");
        invoice["parent"] = new System.Text.Json.Nodes.JsonObject
        {
            ["type"] = "subscription_details",
            ["subscription_details"] = new System.Text.Json.Nodes.JsonObject { ["subscription"] = subscriptionId, ["metadata"] = null },
        };
        return invoice;
    }

    private async Task<IReadOnlyList<object>> HistoryAsync(Guid tenantId)
    {
        await using var query = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenantId));
        return [.. (await query.Events.FetchStreamAsync(SubscriptionStreams.For(tenantId))).Select(e => e.Data)];
    }

    /// <summary>A tenant whose Stripe subscription (on <paramref name="price"/>) the webhook has made active in Lanes.</summary>
    private async Task<(Tenant Tenant, string SubscriptionId)> SubscribedAsync(string price = "price_pro", string customer = "cus_x")
    {
        var tenant = await NewTenantAsync();
        var id = $"sub_{Guid.NewGuid():N}"[..20];
        var sub = billing.Stripe.PutSubscription(id, customer, tenant.Id, "active", price, Now.AddDays(-1), Now.AddDays(29));
        var created = $"evt_{Guid.NewGuid():N}";
        Assert.Equal(HttpStatusCode.OK, (await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionCreated, sub, created))).StatusCode);
        await LanesSubscription(tenant.Id, s => s is { IsLive: true }, "the subscription to start");
        // The subscription is live as soon as the event's job has synced it, before the job records the event as
        // processed; until then the nightly reconciliation would take the event as one whose job never ran and sync
        // again, as "stripe", whatever a test has since changed in Stripe.
        await ProcessedAsync(created);
        return (tenant, id);
    }

    /// <summary>Waits until the webhook job has recorded the event as processed (its last step).</summary>
    private Task<StripeEventReceipt?> ProcessedAsync(string eventId) => Eventually.Get(async () =>
    {
        await using var query = billing.Get<IDocumentStore>().QuerySession();
        return await query.LoadAsync<StripeEventReceipt>(eventId);
    }, r => r?.ProcessedAt is not null, TimeSpan.FromSeconds(30), $"event {eventId} to be processed");

    [Fact]
    public async Task Checkout_creates_one_customer_per_tenant_and_a_subscription_session_for_the_plans_price()
    {
        var tenant = await NewTenantAsync();
        var command = Guid.NewGuid();

        var url = await billing.Get<StripeBilling>().CheckoutAsync(tenant.Id, "pro", "owner@test.local", command);
        var again = await billing.Get<StripeBilling>().CheckoutAsync(tenant.Id, "pro", "owner@test.local", Guid.NewGuid()); // a second tab
        await billing.Get<StripeBilling>().CheckoutAsync(tenant.Id, "team", "owner@test.local", Guid.NewGuid());

        Assert.StartsWith("https://checkout.stripe.com/", url);
        var customer = Assert.Single(billing.Stripe.To("POST", "/v1/customers"), r => r.Form["metadata[tenant_id]"] == tenant.Id.ToString());
        Assert.Equal($"lanes:customer:{tenant.Id}", customer.IdempotencyKey);
        var sessions = billing.Stripe.To("POST", "/v1/checkout/sessions").Where(r => r.Path == "/v1/checkout/sessions" && r.Form["client_reference_id"] == tenant.Id.ToString()).ToList();
        Assert.Equal(2, sessions.Count);
        Assert.Equal("subscription", sessions[0].Form["mode"]);
        Assert.Equal("price_pro", sessions[0].Form["line_items[0][price]"]);
        Assert.Equal(tenant.Id.ToString(), sessions[0].Form["subscription_data[metadata][tenant_id]"]);
        Assert.Equal($"lanes:checkout:{tenant.Id}:pro:{command}", sessions[0].IdempotencyKey);
        Assert.Equal(sessions[0].Form["customer"], sessions[1].Form["customer"]);

        // The second tab got the open checkout, not a second payment; choosing Team expired the Pro one first.
        Assert.Equal(url, again);
        var proSession = url.Split('/').Last();
        Assert.Equal("expired", billing.Stripe.Sessions[proSession]["status"]!.GetValue<string>());
        Assert.Single(billing.Stripe.To("POST", $"/v1/checkout/sessions/{proSession}/expire"));

        // The browser coming back proves nothing: only the webhook activates the subscription.
        Assert.Null(await billing.Get<SubscriptionService>().FindAsync(tenant.Id));
    }

    [Fact]
    public async Task A_valid_webhook_is_processed_once_even_when_delivered_twice()
    {
        var tenant = await NewTenantAsync();
        var sub = billing.Stripe.PutSubscription("sub_twice", "cus_twice", tenant.Id, "active", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        var completed = FakeStripe.Fixture("checkout.session");
        completed["mode"] = "subscription";
        completed["subscription"] = "sub_twice";
        completed["customer"] = "cus_twice";
        var payload = billing.Event(EventTypes.CheckoutSessionCompleted, completed, "evt_twice");

        var first = await billing.DeliverAsync(payload);
        var second = await billing.DeliverAsync(payload);

        Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (first.StatusCode, second.StatusCode));
        Assert.Contains("duplicate", await second.Content.ReadAsStringAsync());
        var s = await LanesSubscription(tenant.Id, s => s is { IsLive: true }, "the checkout to activate the subscription");
        Assert.Equal((6, "sub_twice"), (s.ReservedLanesAt(Now), s.StripeSubscriptionId));
        await ProcessedAsync("evt_twice");
        await using var events = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var stream = await events.Events.FetchStreamAsync(SubscriptionStreams.For(tenant.Id));
        Assert.Single(stream, e => e.Data is SubscriptionStarted);
    }

    [Theory]
    [InlineData("wrong secret")]
    [InlineData("tampered body")]
    [InlineData("expired timestamp")]
    [InlineData("no api version")]
    public async Task A_bad_or_stale_signature_is_a_400_and_nothing_is_recorded(string fault)
    {
        var tenant = await NewTenantAsync();
        var sub = billing.Stripe.PutSubscription($"sub_{fault.Replace(' ', '_')}", "cus_bad", tenant.Id, "active", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        var id = $"evt_{Guid.NewGuid():N}";
        var payload = billing.Event(EventTypes.CustomerSubscriptionCreated, sub, id);

        var response = fault switch
        {
            "wrong secret" => await billing.DeliverAsync(payload, secret: "whsec_someone_else"),
            "expired timestamp" => await billing.DeliverAsync(payload, signedAt: Now.AddMinutes(-6)),
            "no api version" => await billing.DeliverAsync(payload.Replace(StripeConfiguration.ApiVersion, "", StringComparison.Ordinal).Replace("\"api_version\":\"\"", "\"api_version\":null", StringComparison.Ordinal)),
            _ => await TamperedAsync(payload),
        };

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        await using var query = billing.Get<IDocumentStore>().QuerySession();
        Assert.Null(await query.LoadAsync<StripeEventReceipt>(id));
        Assert.Null(await billing.Get<SubscriptionService>().FindAsync(tenant.Id));
    }

    private async Task<HttpResponseMessage> TamperedAsync(string payload)
    {
        var signature = EventUtility.GenerateSignatureHeader(payload, BillingWithStripe.WebhookSecret, Now.ToUnixTimeSeconds());
        var request = new HttpRequestMessage(HttpMethod.Post, "/stripe/webhook")
        {
            Content = new StringContent(payload.Replace("price_pro", "price_team", StringComparison.Ordinal), System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Stripe-Signature", signature);
        return await billing.Http.SendAsync(request);
    }

    [Fact]
    public async Task Reordered_deliveries_end_in_the_state_stripe_has_now()
    {
        var tenant = await NewTenantAsync();
        var older = billing.Stripe.PutSubscription("sub_order", "cus_order", tenant.Id, "active", "price_pro", Now.AddDays(-1), Now.AddDays(29)).DeepClone().AsObject();
        var latest = billing.Stripe.PutSubscription("sub_order", "cus_order", tenant.Id, "active", "price_team", Now.AddDays(-1), Now.AddDays(29));

        // "updated" (newest) arrives first, then the old "created", then an old "updated" with the first plan.
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, latest));
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionCreated, older));
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, older));

        var s = await LanesSubscription(tenant.Id, s => s is { IsLive: true }, "the subscription");
        await Eventually.Get(async () =>
        {
            await using var query = billing.Get<IDocumentStore>().QuerySession();
            return await query.Query<StripeEventReceipt>().CountAsync(r => r.ProcessedAt == null);
        }, n => n == 0, TimeSpan.FromSeconds(30), "every delivery to be processed");
        s = (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!;
        Assert.Equal(("team", 32), (s.PlanId, s.ReservedLanesAt(Now)));
    }

    [Fact]
    public async Task A_failed_payment_gives_grace_with_reduced_lanes_and_payment_restores_the_plan()
    {
        var (tenant, id) = await SubscribedAsync();
        var invoice = InvoiceOf(id);

        billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "past_due", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentFailed, invoice));
        var grace = await LanesSubscription(tenant.Id, s => s!.Status == SubscriptionStatus.InGrace, "grace to start");
        Assert.Equal(1, grace.ReservedLanesAt(Now));
        Assert.Equal(Now.AddDays(3), grace.GraceEndsAt);

        billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "active", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaid, invoice));
        var paid = await LanesSubscription(tenant.Id, s => s!.Status == SubscriptionStatus.Active, "payment to restore the plan");
        Assert.Equal(6, paid.ReservedLanesAt(Now));
    }

    [Fact]
    public async Task Grace_that_runs_out_ends_the_subscription_and_revokes_every_key()
    {
        var (tenant, id) = await SubscribedAsync();
        var key = await billing.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("ci"), "owner");
        var sub = billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "past_due", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, sub));
        var grace = await LanesSubscription(tenant.Id, s => s!.Status == SubscriptionStatus.InGrace, "grace to start");

        billing.Clock.SetUtcNow(grace.GraceEndsAt!.Value.AddMinutes(1));
        await billing.Get<BillingJobs>().EndLapsedSubscriptionsAsync(CancellationToken.None);
        await billing.Get<BillingJobs>().RevokeKeysOfEndedSubscriptionsAsync(CancellationToken.None);

        Assert.Equal(SubscriptionStatus.Ended, (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!.Status);
        Assert.Equal(RevocationReason.SubscriptionEnded, (await billing.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id))!.RevokedFor);
    }

    [Fact]
    public async Task A_customer_who_never_pays_is_ended_once_canceled_in_stripe_and_stays_ended_for_30_days_of_retries()
    {
        var (tenant, id) = await SubscribedAsync();
        var invoice = InvoiceOf(id);
        billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "past_due", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentFailed, invoice));
        var grace = await LanesSubscription(tenant.Id, s => s!.Status == SubscriptionStatus.InGrace, "grace to start");

        // Every day for 30 days: Stripe retries the invoice (and fails), the minute jobs and the nightly reconciliation run.
        var end = Now.AddDays(30);
        while (Now < end)
        {
            billing.Clock.Advance(TimeSpan.FromDays(1));
            await billing.Get<BillingJobs>().EndLapsedSubscriptionsAsync(CancellationToken.None);
            await billing.Get<BillingJobs>().RevokeKeysOfEndedSubscriptionsAsync(CancellationToken.None);
            await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentFailed, invoice));
            await billing.Get<StripeEventJob>().ReconcileAsync(CancellationToken.None);
        }

        // Ended once, when the grace ran out; canceled in Stripe once; never started again; its lanes are free.
        await using var query = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var history = (await query.Events.FetchStreamAsync(SubscriptionStreams.For(tenant.Id))).Select(e => e.Data).ToList();
        var ended = Assert.Single(history.OfType<SubscriptionEnded>());
        Assert.Equal("grace_expired", ended.Reason);
        Assert.Single(history.OfType<SubscriptionStarted>());
        Assert.Single(history.OfType<StripeSubscriptionCanceled>());
        var cancel = Assert.Single(billing.Stripe.To("DELETE", $"/v1/subscriptions/{id}"));
        Assert.Equal($"lanes:dunning-cancel:{id}", cancel.IdempotencyKey);
        var final = (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!;
        Assert.Equal((SubscriptionStatus.Ended, 0), (final.Status, final.AllocatedLanes));
        Assert.True(grace.AllocatedLanes > 0);
    }

    [Fact]
    public async Task A_late_payment_after_the_grace_brings_back_the_subscription_and_the_keys_dunning_revoked_but_no_others()
    {
        var (tenant, id) = await SubscribedAsync();
        var keys = billing.Get<KeyService>();
        var ci = (await keys.IssueAsync(tenant.Id, new KeyRequest("ci"), "owner")).Key;
        var retired = (await keys.IssueAsync(tenant.Id, new KeyRequest("retired"), "owner")).Key;
        await keys.RevokeAsync(tenant.Id, retired.Id, RevocationReason.User, "owner");
        var invoice = InvoiceOf(id);
        billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "past_due", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentFailed, invoice));
        var grace = await LanesSubscription(tenant.Id, s => s!.Status == SubscriptionStatus.InGrace, "grace to start");

        // The grace runs out: Lanes ends the subscription and revokes its keys (before Stripe's cancellation went out).
        billing.Clock.SetUtcNow(grace.GraceEndsAt!.Value.AddMinutes(1));
        await billing.Get<BillingJobs>().EndLapsedSubscriptionsAsync(CancellationToken.None);
        await billing.Get<BillingJobs>().RevokeKeysOfEndedSubscriptionsAsync(CancellationToken.None);
        Assert.Equal(KeyState.Revoked, (await keys.FindAsync(tenant.Id, ci.Id))!.State);

        // Then the customer pays the open invoice.
        billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "active", "price_pro", Now.AddDays(-4), Now.AddDays(26));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaid, invoice));

        var back = await LanesSubscription(tenant.Id, s => s is { IsLive: true }, "the late payment to restore the subscription");
        Assert.Equal((SubscriptionStatus.Active, 6), (back.Status, back.ReservedLanesAt(Now)));
        await Eventually.Get(() => keys.FindAsync(tenant.Id, ci.Id), k => k!.State == KeyState.Active, TimeSpan.FromSeconds(30), "the ci key to be restored");
        Assert.Equal(KeyState.Revoked, (await keys.FindAsync(tenant.Id, retired.Id))!.State);
        await using var query = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var restored = (await query.Events.FetchStreamAsync(ci.Id)).Select(e => e.Data).OfType<ApiKeyRestored>().Single();
        Assert.Equal(("late_payment", "stripe"), (restored.Reason, restored.RestoredBy));
    }

    [Fact]
    public async Task A_second_paid_subscription_of_a_tenant_is_canceled_in_stripe_at_once_refunded_in_full_reported_to_staff_and_changes_nothing()
    {
        var (tenant, first) = await SubscribedAsync();
        var second = $"sub_{Guid.NewGuid():N}"[..20];
        var paid = billing.Stripe.PutSubscription(second, "cus_x", tenant.Id, "active", "price_team", Now.AddDays(-1), Now.AddDays(29));
        paid["latest_invoice"] = $"in_{second}";
        billing.Stripe.InvoicePayments[$"in_{second}"] = ($"pi_{second}", 25000);

        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionCreated, paid));
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, paid));

        var reported = await LanesSubscription(tenant.Id, s => s!.CanceledDuplicates.Contains(second), "the duplicate to be reported");
        Assert.Equal((first, "pro", 6), (reported.StripeSubscriptionId, reported.PlanId, reported.ReservedLanesAt(Now)));
        Assert.Equal("canceled", billing.Stripe.Subscriptions[second]["status"]!.GetValue<string>());
        Assert.All(billing.Stripe.To("DELETE", $"/v1/subscriptions/{second}"), r => Assert.Equal($"lanes:duplicate-cancel:{second}", r.IdempotencyKey));
        await using var query = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var history = (await query.Events.FetchStreamAsync(SubscriptionStreams.For(tenant.Id))).Select(e => e.Data).ToList();
        var reportedDuplicate = Assert.Single(history.OfType<DuplicateStripeSubscriptionCanceled>());
        Assert.Equal((first, 25000L, "usd"), (reportedDuplicate.KeptSubscriptionId, reportedDuplicate.AmountRefunded, reportedDuplicate.Currency));
        // However often the webhook job ran, one refund: every request for it carries the payment's idempotency key.
        var refunds = billing.Stripe.To("POST", "/v1/refunds").Where(r => r.Form["payment_intent"] == $"pi_{second}").ToList();
        Assert.All(refunds, r => Assert.Equal(("duplicate", $"lanes:duplicate-refund:inpay_in_{second}"), (r.Form["reason"], r.IdempotencyKey)));
        Assert.Single(billing.Stripe.Refunds.Values, r => r["payment_intent"]!.GetValue<string>() == $"pi_{second}");
    }

    [Fact]
    public async Task Two_syncs_of_one_subscription_never_apply_a_stale_read_the_second_reads_stripe_after_the_first_has_applied()
    {
        var (tenant, id) = await SubscribedAsync();
        var dataSource = billing.Get<Npgsql.NpgsqlDataSource>();
        async Task<long> WaitingForTheSubscriptionAsync()
        {
            await using var command = dataSource.CreateCommand(
                "select count(*) from pg_locks where locktype = 'advisory' and not granted and classid = $1 and objid = $2");
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = (long)(uint)StripeSyncLock.Namespace });
            command.Parameters.Add(new Npgsql.NpgsqlParameter { Value = (long)(uint)StripeSyncLock.KeyOf(id) });
            return (long)(await command.ExecuteScalarAsync())!;
        }

        // Another job is in the middle of syncing this subscription when a second one starts: the second waits
        // before it reads Stripe.
        Task<Lanes.Billing.Subscriptions.Subscription?> second;
        await using (await billing.Get<StripeSyncLock>().AcquireAsync(id))
        {
            second = billing.Get<StripeBilling>().SyncAsync(id, "stripe");
            await Eventually.Get(WaitingForTheSubscriptionAsync, n => n == 1, TimeSpan.FromSeconds(10), "the second sync to wait for the first");

            // What the first job applies: the customer canceled meanwhile.
            billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "canceled", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        }

        // Reading after the first finished, the second sees the cancellation, never the "active" from before it.
        Assert.Equal(SubscriptionStatus.Ended, (await second)!.Status);
    }

    [Fact]
    public async Task Subscription_deleted_in_stripe_ends_it_in_lanes()
    {
        var (tenant, id) = await SubscribedAsync();
        var sub = billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "canceled", "price_pro", Now.AddDays(-1), Now.AddDays(29));

        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionDeleted, sub));

        var ended = await LanesSubscription(tenant.Id, s => s!.Status == SubscriptionStatus.Ended, "the subscription to end");
        Assert.Equal(0, ended.ReservedLanesAt(Now));
    }

    [Fact]
    public async Task An_upgrade_is_prorated_now_and_resizes_lanes_at_once()
    {
        var (tenant, id) = await SubscribedAsync("price_starter");
        var command = Guid.NewGuid();

        var preview = await billing.Get<StripeBilling>().PreviewChangeAsync(tenant.Id, "team");
        var upgraded = await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "team", "owner", command, preview.ProrationDate);

        // The proration lines only (credit for unused Starter, charge for the rest of the period on Team), not the
        // next period's charge on the same preview invoice; and the change is priced at the instant previewed.
        Assert.Equal((1234L, true, Now), (preview.AmountDueCents, preview.Immediate, preview.LanesChangeAt));
        Assert.Equal([-500L, 1734L], preview.Lines!.Select(l => l.AmountCents));
        var previewRequest = billing.Stripe.To("POST", "/v1/invoices/create_preview").Last();
        Assert.Equal("price_team", previewRequest.Form["subscription_details[items][0][price]"]);
        var update = billing.Stripe.To("POST", $"/v1/subscriptions/{id}").Last();
        Assert.Equal(("price_team", "always_invoice"), (update.Form["items[0][price]"], update.Form["proration_behavior"]));
        Assert.Equal($"lanes:change-plan:{tenant.Id}:team:{command}", update.IdempotencyKey);
        Assert.Equal(preview.ProrationDate.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture), update.Form["proration_date"]);
        Assert.Equal(previewRequest.Form["subscription_details[proration_date]"], update.Form["proration_date"]);
        Assert.Equal((32, false), (upgraded.Subscription.ReservedLanesAt(Now), upgraded.PaymentPending));
    }

    [Fact]
    public async Task An_upgrade_whose_payment_needs_authentication_stays_pending_keeps_the_lanes_and_says_where_to_pay()
    {
        var (tenant, id) = await SubscribedAsync("price_starter");
        billing.Stripe.NextUpdateNeedsPayment = true;

        var pending = await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "team", "owner", Guid.NewGuid());

        Assert.True(pending.PaymentPending);
        Assert.StartsWith("https://invoice.stripe.com/", pending.PaymentUrl);
        Assert.Equal(("starter", 2), (pending.Subscription.PlanId, pending.Subscription.ReservedLanesAt(Now)));
        Assert.Equal("pending_if_incomplete", billing.Stripe.To("POST", $"/v1/subscriptions/{id}").Last().Form["payment_behavior"]);

        // Once the customer pays, Stripe applies the update and the webhook resizes the lanes.
        var paid = billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "active", "price_team", Now.AddDays(-1), Now.AddDays(29));
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, paid));
        Assert.Equal(32, (await LanesSubscription(tenant.Id, s => s!.PlanId == "team", "the paid upgrade")).ReservedLanesAt(Now));
    }

    [Fact]
    public async Task A_declined_card_refuses_the_upgrade_with_stripes_reason_and_changes_nothing()
    {
        var (tenant, _) = await SubscribedAsync("price_starter");
        billing.Stripe.NextError = ("card_error", "card_declined", "Your card was declined.", 402);

        var refused = await Assert.ThrowsAsync<StripeException>(() => billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "team", "owner", Guid.NewGuid()));

        Assert.Equal("card_declined", refused.StripeError.Code);
        Assert.Equal(("starter", 2), ((await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!.PlanId, (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!.ReservedLanesAt(Now)));
    }

    [Fact]
    public async Task A_downgrade_is_a_stripe_schedule_that_keeps_the_lanes_until_the_period_ends_then_shrinks_them_exactly_then()
    {
        var (tenant, id) = await SubscribedAsync("price_team");
        var periodEnd = (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!.PeriodEnd;

        var preview = await billing.Get<StripeBilling>().PreviewChangeAsync(tenant.Id, "starter");
        var downgraded = await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "starter", "owner", Guid.NewGuid());

        // Nothing is charged or credited, the price paid for runs to the period end, and Starter follows it.
        Assert.Equal((0L, false, periodEnd), (preview.AmountDueCents, preview.Immediate, preview.LanesChangeAt));
        Assert.Empty(billing.Stripe.To("POST", $"/v1/subscriptions/{id}"));
        var schedule = billing.Stripe.Schedules.Values.Single(s => s["subscription"]?.GetValue<string>() == id);
        var phases = schedule["phases"]!.AsArray();
        Assert.Equal(("price_team", periodEnd.ToUnixTimeSeconds()), (phases[0]!["items"]![0]!["price"]!.GetValue<string>(), phases[0]!["end_date"]!.GetValue<long>()));
        Assert.Equal(("price_starter", periodEnd.ToUnixTimeSeconds()), (phases[1]!["items"]![0]!["price"]!.GetValue<string>(), phases[1]!["start_date"]!.GetValue<long>()));
        Assert.Equal(("starter", periodEnd, 32), (downgraded.Subscription.ScheduledChange!.To, downgraded.Subscription.ScheduledChange.EffectiveAt, downgraded.Subscription.ReservedLanesAt(Now)));

        billing.Clock.SetUtcNow(periodEnd.AddSeconds(-1));
        await billing.Get<BillingJobs>().ApplyScheduledPlanChangesAsync(CancellationToken.None);
        Assert.Equal(32, (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!.ReservedLanesAt(billing.Clock.GetUtcNow()));

        billing.Clock.SetUtcNow(periodEnd);
        await billing.Get<BillingJobs>().ApplyScheduledPlanChangesAsync(CancellationToken.None);
        Assert.Equal(2, (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!.ReservedLanesAt(periodEnd));

        // Stripe moves to the next phase and bills Starter: the webhook agrees with what Lanes already did.
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, billing.Stripe.EnterNextPhase(id)));
        var renewed = await LanesSubscription(tenant.Id, s => s!.PeriodEnd > periodEnd, "the renewal on Starter");
        Assert.Equal(("starter", 2, (ScheduledPlanChange?)null), (renewed.PlanId, renewed.ReservedLanesAt(periodEnd), renewed.ScheduledChange));
        Assert.Single((await HistoryAsync(tenant.Id)).OfType<PlanChanged>());
    }

    [Fact]
    public async Task A_scheduled_downgrade_undone_before_the_period_ends_releases_the_schedule_and_the_plan_renews_unchanged()
    {
        var (tenant, id) = await SubscribedAsync("price_team");
        var periodEnd = (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!.PeriodEnd;
        await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "starter", "owner", Guid.NewGuid());
        var command = Guid.NewGuid();

        var kept = await billing.Get<StripeBilling>().KeepPlanAsync(tenant.Id, "owner", command);

        Assert.Equal(("team", (ScheduledPlanChange?)null, 32), (kept.PlanId, kept.ScheduledChange, kept.ReservedLanesAt(Now)));
        // Note: the fake serves every test of the class; this subscription's schedule is found by its id.
        var schedule = billing.Stripe.Schedules.Single(s => s.Value["released_subscription"]?.GetValue<string>() == id);
        Assert.Equal("released", schedule.Value["status"]!.GetValue<string>());
        var release = Assert.Single(billing.Stripe.To("POST", $"/v1/subscription_schedules/{schedule.Key}/release"));
        Assert.StartsWith("lanes:keep-plan:", release.IdempotencyKey);
        Assert.Equal(("team", "owner"), ((await HistoryAsync(tenant.Id)).OfType<ScheduledPlanChangeCanceled>().Select(e => ("team", e.CanceledBy)).Single()));

        // The period end passes and Stripe renews Team: nothing shrinks.
        billing.Clock.SetUtcNow(periodEnd);
        await billing.Get<BillingJobs>().ApplyScheduledPlanChangesAsync(CancellationToken.None);
        var renewal = billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "active", "price_team", periodEnd, periodEnd.AddDays(30));
        await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionUpdated, renewal));
        var renewed = await LanesSubscription(tenant.Id, s => s!.PeriodEnd > periodEnd, "the renewal on Team");
        Assert.Equal(("team", 32), (renewed.PlanId, renewed.ReservedLanesAt(periodEnd)));
        Assert.Empty((await HistoryAsync(tenant.Id)).OfType<PlanChanged>());
    }

    [Fact]
    public async Task Choosing_the_current_plan_again_undoes_a_waiting_downgrade_and_an_upgrade_releases_it_first()
    {
        var (tenant, id) = await SubscribedAsync("price_pro");
        await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "starter", "owner", Guid.NewGuid());

        var back = await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "pro", "owner", Guid.NewGuid());
        Assert.Equal(("pro", (ScheduledPlanChange?)null), (back.Subscription.PlanId, back.Subscription.ScheduledChange));

        await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "starter", "owner", Guid.NewGuid());
        var up = await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "team", "owner", Guid.NewGuid());

        // The upgrade is prorated from Pro (the plan paid for), and no downgrade is left to undo it at the period end.
        Assert.Equal(("team", 32, (ScheduledPlanChange?)null), (up.Subscription.PlanId, up.Subscription.ReservedLanesAt(Now), up.Subscription.ScheduledChange));
        var schedules = billing.Stripe.Schedules.Values.Where(s => (s["subscription"] ?? s["released_subscription"])?.GetValue<string>() == id).ToList();
        Assert.Equal(["released", "released"], schedules.Select(s => s["status"]!.GetValue<string>()));
        Assert.Equal("price_team", billing.Stripe.Subscriptions[id]["items"]!["data"]![0]!["price"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancelling_with_a_downgrade_waiting_drops_the_downgrade_and_cancels_at_the_period_end()
    {
        var (tenant, id) = await SubscribedAsync("price_team");
        await billing.Get<StripeBilling>().ChangePlanAsync(tenant.Id, "starter", "owner", Guid.NewGuid());

        var cancelling = await billing.Get<StripeBilling>().CancelAsync(tenant.Id, "owner", Guid.NewGuid());

        Assert.Equal((SubscriptionStatus.Cancelling, (ScheduledPlanChange?)null, 32), (cancelling.Status, cancelling.ScheduledChange, cancelling.ReservedLanesAt(Now)));
        Assert.Equal("true", billing.Stripe.To("POST", $"/v1/subscriptions/{id}").Last().Form["cancel_at_period_end"]);
    }

    [Fact]
    public async Task Cancel_and_resume_set_cancel_at_period_end_in_stripe()
    {
        var (tenant, id) = await SubscribedAsync();

        var cancelling = await billing.Get<StripeBilling>().CancelAsync(tenant.Id, "owner", Guid.NewGuid());
        Assert.Equal("true", billing.Stripe.To("POST", $"/v1/subscriptions/{id}").Last().Form["cancel_at_period_end"]);
        Assert.Equal(SubscriptionStatus.Cancelling, cancelling.Status);

        var resumed = await billing.Get<StripeBilling>().ResumeAsync(tenant.Id, "owner", Guid.NewGuid());
        Assert.Equal("false", billing.Stripe.To("POST", $"/v1/subscriptions/{id}").Last().Form["cancel_at_period_end"]);
        Assert.Equal(SubscriptionStatus.Active, resumed.Status);

        var portal = await billing.Get<StripeBilling>().PortalAsync(tenant.Id, Guid.NewGuid());
        Assert.StartsWith("https://billing.stripe.com/", portal);
    }

    [Fact]
    public async Task Invoices_are_listed_for_the_organisations_own_customer_only()
    {
        var (tenant, _) = await SubscribedAsync();
        var stranger = await NewTenantAsync();

        var invoices = await billing.Get<StripeBilling>().InvoicesAsync(tenant.Id);
        var none = await billing.Get<StripeBilling>().InvoicesAsync(stranger.Id);

        var invoice = Assert.Single(invoices);
        Assert.Equal(("LANES-0001", 5000L, "paid"), (invoice.Number, invoice.Total, invoice.Status));
        Assert.Empty(none);
        var listed = billing.Stripe.Requests.Single(r => r.Method == "GET" && r.Path.StartsWith("/v1/invoices", StringComparison.Ordinal));
        Assert.Contains("customer=cus_x", listed.Path);
    }

    [Fact]
    public async Task Reconciliation_corrects_drift_and_says_so()
    {
        var (tenant, id) = await SubscribedAsync();
        billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "active", "price_team", Now.AddDays(-1), Now.AddDays(29));

        await billing.Get<StripeEventJob>().ReconcileAsync(CancellationToken.None);

        await using var query = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var changed = (await query.Events.FetchStreamAsync(SubscriptionStreams.For(tenant.Id))).Select(e => e.Data).OfType<PlanChanged>().Single();
        Assert.Equal(("pro", "team", "reconciled"), (changed.From, changed.To, changed.ChangedBy));
    }

    private async Task<BillingDocument> DocumentAsync(Guid tenantId, Func<BillingDocument, bool> done, string what) =>
        (await Eventually.Get(() => billing.Get<StripeBilling>().DocumentsAsync(tenantId), d => d.Any(done), TimeSpan.FromSeconds(30), what)).First(done);

    [Fact]
    public async Task A_refund_is_recorded_for_the_customers_organisation_with_its_receipt_and_in_the_history_once_per_amount()
    {
        var customer = $"cus_{Guid.NewGuid():N}"[..20];
        var (tenant, _) = await SubscribedAsync(customer: customer);
        var charge = billing.Stripe.PutCharge($"ch_{Guid.NewGuid():N}"[..20], customer, 5000);
        charge["amount_refunded"] = 2000;

        await billing.DeliverAsync(billing.Event(EventTypes.ChargeRefunded, charge));
        await billing.DeliverAsync(billing.Event(EventTypes.ChargeRefunded, charge)); // Stripe delivers again
        var partial = await DocumentAsync(tenant.Id, d => d.Kind == BillingDocumentKind.Refund, "the partial refund");
        Assert.Equal((2000L, "usd", "partially_refunded"), (partial.Amount, partial.Currency, partial.Status));
        Assert.StartsWith("https://pay.stripe.com/receipts/", partial.Url);

        charge["amount_refunded"] = 5000;
        charge["refunded"] = true;
        await billing.DeliverAsync(billing.Event(EventTypes.ChargeRefunded, charge));
        await DocumentAsync(tenant.Id, d => d is { Kind: BillingDocumentKind.Refund, Status: "refunded", Amount: 5000 }, "the full refund");

        var history = await Eventually.Get(() => HistoryAsync(tenant.Id), h => h.OfType<PaymentRefunded>().Count() >= 2, TimeSpan.FromSeconds(30), "the refunds in the history");
        Assert.Equal([2000L, 5000L], history.OfType<PaymentRefunded>().Select(r => r.AmountRefunded));
        Assert.Empty(await billing.Get<StripeBilling>().DocumentsAsync((await NewTenantAsync()).Id));
    }

    [Fact]
    public async Task A_dispute_is_found_through_its_charge_recorded_with_each_status_and_leaves_the_lanes_running()
    {
        var customer = $"cus_{Guid.NewGuid():N}"[..20];
        var (tenant, _) = await SubscribedAsync(customer: customer);
        var charge = billing.Stripe.PutCharge($"ch_{Guid.NewGuid():N}"[..20], customer, 5000);
        var dispute = FakeStripe.Fixture("dispute");
        dispute["id"] = $"dp_{Guid.NewGuid():N}"[..20];
        dispute["charge"] = charge["id"]!.GetValue<string>();
        dispute["amount"] = 5000;
        dispute["reason"] = "fraudulent";
        dispute["status"] = "needs_response";
        billing.Stripe.Disputes[dispute["id"]!.GetValue<string>()] = dispute;

        await billing.DeliverAsync(billing.Event(EventTypes.ChargeDisputeCreated, dispute));
        var open = await DocumentAsync(tenant.Id, d => d.Kind == BillingDocumentKind.Dispute, "the dispute");
        Assert.Equal((5000L, "fraudulent", "needs_response", charge["id"]!.GetValue<string>()), (open.Amount, open.Reason, open.Status, open.Charge));

        dispute["status"] = "lost";
        await billing.DeliverAsync(billing.Event(EventTypes.ChargeDisputeClosed, dispute));
        await DocumentAsync(tenant.Id, d => d is { Kind: BillingDocumentKind.Dispute, Status: "lost" }, "the lost dispute");

        var history = await Eventually.Get(() => HistoryAsync(tenant.Id), h => h.OfType<PaymentDisputed>().Count() >= 2, TimeSpan.FromSeconds(30), "the dispute in the history");
        Assert.Equal(["needs_response", "lost"], history.OfType<PaymentDisputed>().Select(d => d.Status));
        Assert.Equal(6, (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!.ReservedLanesAt(Now));
    }

    [Fact]
    public async Task A_credit_note_is_listed_with_its_number_reason_and_pdf()
    {
        var customer = $"cus_{Guid.NewGuid():N}"[..20];
        var (tenant, _) = await SubscribedAsync(customer: customer);
        var note = FakeStripe.Fixture("credit_note");
        note["id"] = $"cn_{Guid.NewGuid():N}"[..20];
        note["customer"] = customer;
        note["reason"] = "order_change";
        note["currency"] = "jpy";
        note["total"] = 1690;
        billing.Stripe.CreditNotes[note["id"]!.GetValue<string>()] = note;

        await billing.DeliverAsync(billing.Event(EventTypes.CreditNoteCreated, note));

        var credit = await DocumentAsync(tenant.Id, d => d.Kind == BillingDocumentKind.CreditNote, "the credit note");
        Assert.Equal(("ABCD-1234-CN-01", 1690L, "jpy", "issued", "order_change"), (credit.Number, credit.Amount, credit.Currency, credit.Status, credit.Reason));
        Assert.Equal("JPY 1,690", Lanes.Shared.Money.MinorUnits.Format(credit.Amount, credit.Currency));
        Assert.NotNull(credit.Url);
    }

    [Fact]
    public async Task The_customer_portal_runs_on_lanes_own_configuration_created_once_and_put_back_by_the_nightly_reconciliation()
    {
        var (tenant, _) = await SubscribedAsync();

        await billing.Get<StripeBilling>().PortalAsync(tenant.Id, Guid.NewGuid());
        await billing.Get<StripeBilling>().PortalAsync(tenant.Id, Guid.NewGuid());

        // Payment methods, invoices, tax IDs and cancelling at the period end; plan changes stay in Lanes.
        var created = Assert.Single(billing.Stripe.To("POST", "/v1/billing_portal/configurations"), r => r.Path == "/v1/billing_portal/configurations");
        Assert.Equal(("true", "true", "tax_id", "at_period_end", "false"), (created.Form["features[payment_method_update][enabled]"],
            created.Form["features[invoice_history][enabled]"], created.Form["features[customer_update][allowed_updates][0]"],
            created.Form["features[subscription_cancel][mode]"], created.Form["features[subscription_update][enabled]"]));
        Assert.Equal("lanes:portal-configuration", created.IdempotencyKey);
        var configuration = billing.Stripe.To("POST", "/v1/billing_portal/sessions").Select(r => r.Form["configuration"]).Distinct().Single();
        Assert.StartsWith("bpc_", configuration);

        await billing.Get<StripeEventJob>().ReconcileAsync(CancellationToken.None);
        var putBack = billing.Stripe.To("POST", $"/v1/billing_portal/configurations/{configuration}").Last();
        Assert.Equal("false", putBack.Form["features[subscription_update][enabled]"]);
    }

    [Fact]
    public async Task A_subscriber_on_a_legacy_price_keeps_the_plan_renews_and_gets_grace_when_a_payment_fails()
    {
        var (tenant, id) = await SubscribedAsync("price_pro_2025");
        var s = await billing.Get<SubscriptionService>().FindAsync(tenant.Id);
        Assert.Equal(("pro", 6), (s!.PlanId, s.ReservedLanesAt(Now)));

        var renewed = billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "active", "price_pro_2025", s.PeriodEnd, s.PeriodEnd.AddDays(30));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaid, InvoiceOf(id)));
        Assert.Equal(s.PeriodEnd.AddDays(30), (await LanesSubscription(tenant.Id, x => x!.PeriodEnd > s.PeriodEnd, "the renewal")).PeriodEnd);

        billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "past_due", "price_pro_2025", s.PeriodEnd, s.PeriodEnd.AddDays(30));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentFailed, InvoiceOf(id)));
        var failing = await LanesSubscription(tenant.Id, x => x!.Status == SubscriptionStatus.InGrace, "grace");
        Assert.Equal(("pro", 1, (string?)null), (failing.PlanId, failing.ReservedLanesAt(Now), failing.UnknownStripePrice));
        Assert.Equal("price_pro_2025", renewed["items"]!["data"]![0]!["price"]!["id"]!.GetValue<string>());
    }

    [Fact]
    public async Task Cancelling_during_grace_keeps_the_reduced_lanes_and_the_grace_end()
    {
        var (tenant, id) = await SubscribedAsync();
        billing.Stripe.PutSubscription(id, "cus_x", tenant.Id, "past_due", "price_pro", Now.AddDays(-1), Now.AddDays(29));
        await billing.DeliverAsync(billing.Event(EventTypes.InvoicePaymentFailed, InvoiceOf(id)));
        var grace = await LanesSubscription(tenant.Id, x => x!.Status == SubscriptionStatus.InGrace, "grace");

        var cancelled = await billing.Get<StripeBilling>().CancelAsync(tenant.Id, "owner", Guid.NewGuid());

        Assert.Equal((SubscriptionStatus.InGrace, 1, grace.GraceEndsAt), (cancelled.Status, cancelled.ReservedLanesAt(Now), cancelled.GraceEndsAt));
        Assert.NotNull(cancelled.CancelsAt);
        billing.Clock.SetUtcNow(grace.GraceEndsAt!.Value);
        await billing.Get<BillingJobs>().EndLapsedSubscriptionsAsync(CancellationToken.None);
        await billing.Get<BillingJobs>().RevokeKeysOfEndedSubscriptionsAsync(CancellationToken.None);
        var ended = (await billing.Get<SubscriptionService>().FindAsync(tenant.Id))!;
        Assert.Equal((SubscriptionStatus.Ended, "grace_expired"), (ended.Status, ended.EndReason));
    }
}
