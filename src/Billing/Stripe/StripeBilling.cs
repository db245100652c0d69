using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;
using PlanTier = Lanes.Shared.Plans.PlanTier;
using SubscriptionService = Lanes.Billing.Subscriptions.SubscriptionService;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using global::Stripe;
using global::Stripe.Checkout;

namespace Lanes.Billing.Stripe;

/// <summary>
/// Lanes' side of Stripe: checkout, the customer portal, plan changes with a proration preview, cancel and resume,
/// and syncing a tenant's subscription from Stripe's current view. Every mutating call carries an idempotency key
/// derived from the command that caused it, so a retried command never charges twice.
/// </summary>
public sealed partial class StripeBilling(
    StripeClient stripe,
    IDocumentStore store,
    SubscriptionService subscriptions,
    Keys.KeyService keys,
    PlanCatalog plans,
    IOptions<StripeOptions> options,
    IOptions<DunningOptions> dunning,
    TimeProvider clock,
    ILogger<StripeBilling> logger)
{
    private readonly StripeOptions _options = options.Value;

    public string? PriceOf(string planId) =>
        _options.Prices.TryGetValue(planId, out var price) ? price : plans.Find(planId)?.StripePriceId;

    /// <summary>The plan a Stripe price pays for: a current price, or a legacy one kept for its subscribers.</summary>
    public PlanTier? PlanForPrice(string? priceId) =>
        priceId is null ? null
        : plans.Tiers.FirstOrDefault(p => PriceOf(p.Id) == priceId)
          ?? (_options.LegacyPrices.TryGetValue(priceId, out var planId) ? plans.Find(planId) : null);

    /// <summary>Starts a Stripe Checkout for the plan; the subscription becomes active from the webhook, not from the
    /// browser coming back.</summary>
    public async Task<string> CheckoutAsync(Guid tenantId, string planId, string email, Guid commandId, CancellationToken ct = default)
    {
        var plan = plans.Find(planId) is { SelfServe: true } p ? p : throw new RuleViolation("unknown_plan", $"'{planId}' is not a plan customers can buy.");
        var price = PriceOf(plan.Id) ?? throw new RuleViolation("no_price", $"The {plan.Name} plan has no Stripe price.");
        if (await subscriptions.FindAsync(tenantId, ct) is { IsLive: true })
        {
            throw new RuleViolation("already_subscribed", "The organisation already has a subscription: change its plan instead.");
        }

        var (allocated, total) = await subscriptions.CapacityAsync(ct);
        if (total - allocated < plan.ReservedLanes)
        {
            // Refused before the customer pays: a reservation is sold only while capacity exists.
            throw new RuleViolation("capacity_exceeded", $"The {plan.Name} plan needs {plan.ReservedLanes} lanes and {Math.Max(0, total - allocated)} are free right now.");
        }

        var customer = await CustomerOfAsync(tenantId, email, ct);

        // One payment in flight per tenant: the same plan's open checkout is handed out again; another plan's is
        // expired first, so it can never be paid as well.
        var now = clock.GetUtcNow();
        IReadOnlyList<StripeCheckoutRecord> open;
        await using (var query = store.QuerySession())
        {
            open = await query.Query<StripeCheckoutRecord>().Where(c => c.TenantId == tenantId && !c.Closed && c.ExpiresAt > now).ToListAsync(ct);
        }

        if (open.FirstOrDefault(c => c.PlanId == plan.Id) is { } same)
        {
            return same.Url;
        }

        foreach (var other in open)
        {
            try
            {
                await stripe.V1.Checkout.Sessions.ExpireAsync(other.Id, null, Idempotent($"checkout-expire:{other.Id}"), ct);
            }
            catch (StripeException e) when (e.StripeError?.Code is "resource_missing" or "checkout_session_not_open" || e.HttpStatusCode == System.Net.HttpStatusCode.BadRequest)
            {
                // Completed or expired meanwhile: the webhook says which.
            }

            await using var closing = store.LightweightSession();
            closing.Store(other with { Closed = true });
            await closing.SaveChangesAsync(ct);
        }

        var session = await stripe.V1.Checkout.Sessions.CreateAsync(new SessionCreateOptions
        {
            Mode = "subscription",
            Customer = customer,
            ClientReferenceId = tenantId.ToString(),
            LineItems = [new SessionLineItemOptions { Price = price, Quantity = 1 }],
            SuccessUrl = _options.SuccessUrl,
            CancelUrl = _options.CancelUrl,
            Metadata = new Dictionary<string, string> { ["tenant_id"] = tenantId.ToString(), ["plan"] = plan.Id },
            SubscriptionData = new SessionSubscriptionDataOptions { Metadata = new Dictionary<string, string> { ["tenant_id"] = tenantId.ToString() } },
        }, Idempotent($"checkout:{tenantId}:{plan.Id}:{commandId}"), ct);
        await using (var recording = store.LightweightSession())
        {
            recording.Store(new StripeCheckoutRecord(session.Id, tenantId, plan.Id, session.Url,
                session.ExpiresAt > DateTime.UnixEpoch ? new DateTimeOffset(DateTime.SpecifyKind(session.ExpiresAt, DateTimeKind.Utc)) : now.AddHours(24)));
            await recording.SaveChangesAsync(ct);
        }

        return session.Url;
    }

    /// <summary>A Stripe Customer Portal session for payment methods, invoices and cancellation.</summary>
    public async Task<string> PortalAsync(Guid tenantId, Guid commandId, CancellationToken ct = default)
    {
        var customer = await FindCustomerAsync(tenantId, ct) ?? throw new RuleViolation("no_customer", "The organisation has not paid through Stripe yet.");
        var session = await stripe.V1.BillingPortal.Sessions.CreateAsync(
            new global::Stripe.BillingPortal.SessionCreateOptions { Customer = customer, ReturnUrl = _options.PortalReturnUrl },
            Idempotent($"portal:{tenantId}:{commandId}"), ct);
        return session.Url;
    }

    /// <summary>The organisation's latest invoices as Stripe keeps them (newest first); none before its first checkout.</summary>
    public async Task<IReadOnlyList<InvoiceSummary>> InvoicesAsync(Guid tenantId, int limit = 24, CancellationToken ct = default)
    {
        if (await FindCustomerAsync(tenantId, ct) is not { } customer)
        {
            return [];
        }

        var invoices = await stripe.V1.Invoices.ListAsync(new InvoiceListOptions { Customer = customer, Limit = Math.Clamp(limit, 1, 100) }, cancellationToken: ct);
        return [.. invoices.Data.Select(i => new InvoiceSummary(
            i.Id, i.Number, new DateTimeOffset(i.Created, TimeSpan.Zero), i.Total, i.AmountPaid, i.Currency ?? "usd", i.Status, i.HostedInvoiceUrl, i.InvoicePdf))];
    }

    public async Task<PlanChangePreview> PreviewChangeAsync(Guid tenantId, string planId, CancellationToken ct = default)
    {
        var (local, remote, plan, price) = await ChangeContextAsync(tenantId, planId, ct);
        var immediate = plan.ReservedLanes >= local.PlanLanes;
        var prorationDate = clock.GetUtcNow();
        var preview = await stripe.V1.Invoices.CreatePreviewAsync(new InvoiceCreatePreviewOptions
        {
            Customer = remote.CustomerId,
            Subscription = remote.Id,
            SubscriptionDetails = new InvoiceSubscriptionDetailsOptions
            {
                Items = [new InvoiceSubscriptionDetailsItemOptions { Id = remote.Items.Data[0].Id, Price = price }],
                ProrationBehavior = immediate ? "always_invoice" : "none",
                ProrationDate = prorationDate.UtcDateTime,
            },
        }, cancellationToken: ct);

        // Note: only the proration lines are what the change costs; the preview invoice can also hold the next
        // period's charge and pending items, which the customer pays anyway.
        var lines = (preview.Lines?.Data ?? []).Where(l => l.Parent?.SubscriptionItemDetails?.Proration == true || l.Parent?.InvoiceItemDetails?.Proration == true)
            .Select(l => new PreviewLine(l.Description ?? "Proration", l.Amount)).ToList();
        return new PlanChangePreview(local.PlanId, plan.Id, immediate ? lines.Sum(l => l.AmountCents) : 0, preview.Currency ?? "usd",
            immediate ? prorationDate : local.PeriodEnd, immediate, prorationDate, immediate ? lines : []);
    }

    /// <summary>Upgrades are charged prorated now and resize the lanes at once; downgrades are not prorated and
    /// shrink the lanes at the end of the period already paid.</summary>
    public async Task<PlanChangeResult> ChangePlanAsync(Guid tenantId, string planId, string by, Guid commandId, DateTimeOffset? prorationDate = null, CancellationToken ct = default)
    {
        var (local, remote, plan, price) = await ChangeContextAsync(tenantId, planId, ct);
        var upgrade = plan.ReservedLanes >= local.PlanLanes;
        if (upgrade)
        {
            var (allocated, total) = await subscriptions.CapacityAsync(ct);
            if (total - allocated < plan.ReservedLanes - local.AllocatedLanes)
            {
                throw new RuleViolation("capacity_exceeded", $"The {plan.Name} plan needs {plan.ReservedLanes - local.AllocatedLanes} more lanes and {Math.Max(0, total - allocated)} are free right now.");
            }
        }

        var updated = await stripe.V1.Subscriptions.UpdateAsync(remote.Id, new SubscriptionUpdateOptions
        {
            Items = [new SubscriptionItemOptions { Id = remote.Items.Data[0].Id, Price = price }],
            ProrationBehavior = upgrade ? "always_invoice" : "none",

            // The instant the preview priced, so the invoice charges what the customer was shown.
            ProrationDate = upgrade ? (prorationDate ?? clock.GetUtcNow()).UtcDateTime : null,

            // The new price (and so the lanes) applies only once the prorated invoice is paid.
            PaymentBehavior = upgrade ? "pending_if_incomplete" : null,
            Expand = ["latest_invoice"],
        }, Idempotent($"change-plan:{tenantId}:{plan.Id}:{commandId}"), ct);
        var now = await ApplyAsync(tenantId, View(updated, tenantId), by, ct);

        // A declined card or 3-D Secure leaves the update pending in Stripe: the customer is told where to pay, and
        // nothing changes here until Stripe says the invoice is paid.
        return updated.PendingUpdate is null
            ? new PlanChangeResult(now, null)
            : new PlanChangeResult(now, updated.LatestInvoice?.HostedInvoiceUrl ?? _options.PortalReturnUrl);
    }

    public Task<Lanes.Billing.Subscriptions.Subscription> CancelAsync(Guid tenantId, string by, Guid commandId, CancellationToken ct = default) =>
        SetCancelAtPeriodEndAsync(tenantId, true, by, commandId, ct);

    public Task<Lanes.Billing.Subscriptions.Subscription> ResumeAsync(Guid tenantId, string by, Guid commandId, CancellationToken ct = default) =>
        SetCancelAtPeriodEndAsync(tenantId, false, by, commandId, ct);

    /// <summary>Reads the subscription from Stripe now and brings the tenant's subscription in line with it.</summary>
    public async Task<Lanes.Billing.Subscriptions.Subscription?> SyncAsync(string subscriptionId, string by, CancellationToken ct = default)
    {
        var remote = await stripe.V1.Subscriptions.GetAsync(subscriptionId, cancellationToken: ct);
        var tenantId = await TenantOfAsync(remote, ct);
        if (tenantId is null)
        {
            Log.UnknownTenant(logger, subscriptionId);
            return null;
        }

        return await ApplyAsync(tenantId.Value, View(remote, tenantId), by, ct);
    }

    /// <summary>Every subscription Stripe has, compared with Lanes; corrections are recorded with "reconciled".</summary>
    public async Task<int> ReconcileAsync(CancellationToken ct = default)
    {
        var corrected = 0;
        await foreach (var remote in stripe.V1.Subscriptions.ListAutoPagingAsync(new SubscriptionListOptions { Status = "all", Limit = 100 }, cancellationToken: ct))
        {
            if (await TenantOfAsync(remote, ct) is not { } tenantId)
            {
                continue;
            }

            try
            {
                var before = await subscriptions.FindAsync(tenantId, ct);
                var after = await ApplyAsync(tenantId, View(remote, tenantId), "reconciled", ct);
                if (before != after)
                {
                    corrected++;
                }
            }
            catch (RuleViolation e)
            {
                // One subscription Lanes cannot map (a price outside the catalog) does not stop the others.
                Log.NotReconciled(logger, remote.Id, e.Code);
            }
        }

        return corrected;
    }

    /// <summary>
    /// Dunning ends in Stripe too: a subscription whose grace ran out in Lanes is canceled in Stripe, so Stripe stops
    /// retrying the invoice and billing the customer for lanes they no longer have. Re-entrant: the idempotency key is
    /// the subscription, and the cancellation is recorded once it is done (or Stripe already had it canceled).
    /// </summary>
    public async Task<int> EndDunnedSubscriptionsAsync(CancellationToken ct = default)
    {
        IReadOnlyList<Lanes.Billing.Subscriptions.Subscription> dunned;
        await using (var query = store.QuerySession())
        {
            dunned = await query.Query<Lanes.Billing.Subscriptions.Subscription>()
                .Where(s => s.AnyTenant() && s.Status == SubscriptionStatus.Ended && s.EndReason == "grace_expired" && s.StripeSubscriptionId != null && !s.StripeCanceled)
                .ToListAsync(ct);
        }

        var canceled = 0;
        foreach (var s in dunned)
        {
            var id = s.StripeSubscriptionId!;
            try
            {
                await stripe.V1.Subscriptions.CancelAsync(id, new SubscriptionCancelOptions { InvoiceNow = false, Prorate = false },
                    Idempotent($"dunning-cancel:{id}"), ct);
            }
            catch (StripeException e) when (e.StripeError?.Code == "resource_missing")
            {
                // Already gone in Stripe: nothing left to bill.
            }

            await subscriptions.ApplyAsync(s.TenantId, local => local is { Status: SubscriptionStatus.Ended, StripeCanceled: false } && local.StripeSubscriptionId == id
                ? [new StripeSubscriptionCanceled(s.TenantId, id, "grace_expired", clock.GetUtcNow())]
                : [], enforceCapacity: false, ct);
            Log.DunningCanceled(logger, id);
            canceled++;
        }

        return canceled;
    }

    private async Task<Lanes.Billing.Subscriptions.Subscription> ApplyAsync(Guid tenantId, StripeView view, string by, CancellationToken ct)
    {
        // Note: one live subscription per tenant. A second one that is paying (two checkouts paid) is canceled in
        // Stripe at once and reported to staff; the live one is untouched.
        if (await subscriptions.FindAsync(tenantId, ct) is { IsLive: true, StripeSubscriptionId: { } kept } live && kept != view.SubscriptionId
            && view.Status is "active" or "trialing" or "past_due" or "unpaid")
        {
            await stripe.V1.Subscriptions.CancelAsync(view.SubscriptionId, new SubscriptionCancelOptions { InvoiceNow = false, Prorate = false },
                Idempotent($"duplicate-cancel:{view.SubscriptionId}"), ct);
            Log.DuplicateCanceled(logger, view.SubscriptionId, kept);
            return live.CanceledDuplicates.Contains(view.SubscriptionId)
                ? live
                : await subscriptions.ApplyAsync(tenantId, s => s is { IsLive: true } && !s.CanceledDuplicates.Contains(view.SubscriptionId)
                    ? [new DuplicateStripeSubscriptionCanceled(tenantId, view.SubscriptionId, kept, clock.GetUtcNow())]
                    : [], enforceCapacity: false, ct);
        }

        var d = dunning.Value;
        var after = await subscriptions.ApplyAsync(tenantId,
            local => StripeSync.Decide(local, view, tenantId, PlanForPrice, d.GracePeriod, d.GraceLanes, by, clock.GetUtcNow()),
            enforceCapacity: false, ct);

        // A late payment brought back a subscription dunning ended: so do the keys dunning revoked with it. Note:
        // decided from the stored state, not from this call's events, so a job retried after a crash between the two
        // writes still restores them (restoring is idempotent: only revoked keys are touched).
        if (after is { IsLive: true, RestoredAfter: { } endedAt })
        {
            if (await keys.RestoreAfterSubscriptionEndedAsync(tenantId, endedAt, "late_payment", by, ct) is > 0 and var restored)
            {
                Log.RestoredAfterLatePayment(logger, view.SubscriptionId, restored);
            }
        }

        return after;
    }

    private async Task<Lanes.Billing.Subscriptions.Subscription> SetCancelAtPeriodEndAsync(Guid tenantId, bool cancel, string by, Guid commandId, CancellationToken ct)
    {
        var local = await subscriptions.FindAsync(tenantId, ct);
        if (local is not { IsLive: true, StripeSubscriptionId: { } subscriptionId })
        {
            throw new RuleViolation("no_subscription", "The organisation has no Stripe subscription.");
        }

        var updated = await stripe.V1.Subscriptions.UpdateAsync(subscriptionId, new SubscriptionUpdateOptions { CancelAtPeriodEnd = cancel },
            Idempotent($"{(cancel ? "cancel" : "resume")}:{tenantId}:{commandId}"), ct);
        return await ApplyAsync(tenantId, View(updated, tenantId), by, ct);
    }

    private async Task<(Lanes.Billing.Subscriptions.Subscription Local, global::Stripe.Subscription Remote, PlanTier Plan, string Price)> ChangeContextAsync(
        Guid tenantId, string planId, CancellationToken ct)
    {
        var plan = plans.Find(planId) is { SelfServe: true } p ? p : throw new RuleViolation("unknown_plan", $"'{planId}' is not a plan customers can buy.");
        var price = PriceOf(plan.Id) ?? throw new RuleViolation("no_price", $"The {plan.Name} plan has no Stripe price.");
        var local = await subscriptions.FindAsync(tenantId, ct);
        if (local is not { IsLive: true, StripeSubscriptionId: { } subscriptionId })
        {
            throw new RuleViolation("no_subscription", "The organisation has no Stripe subscription to change.");
        }

        if (string.Equals(local.PlanId, plan.Id, StringComparison.OrdinalIgnoreCase))
        {
            throw new RuleViolation("same_plan", $"The subscription is already on {plan.Name}.");
        }

        var remote = await stripe.V1.Subscriptions.GetAsync(subscriptionId, cancellationToken: ct);
        return (local, remote, plan, price);
    }

    private async Task<string> CustomerOfAsync(Guid tenantId, string email, CancellationToken ct)
    {
        if (await FindCustomerAsync(tenantId, ct) is { } existing)
        {
            return existing;
        }

        // One customer per tenant: the idempotency key is the tenant, so two checkouts racing create one customer.
        var customer = await stripe.V1.Customers.CreateAsync(new CustomerCreateOptions
        {
            Email = await BillingEmailOfAsync(tenantId, ct) ?? email,
            Metadata = new Dictionary<string, string> { ["tenant_id"] = tenantId.ToString() },
        }, Idempotent($"customer:{tenantId}"), ct);
        await using var session = store.LightweightSession();
        session.Store(new StripeCustomerRecord(customer.Id, tenantId, clock.GetUtcNow()));
        await session.SaveChangesAsync(ct);
        return customer.Id;
    }

    private async Task<string?> FindCustomerAsync(Guid tenantId, CancellationToken ct)
    {
        await using var query = store.QuerySession();
        var record = await query.Query<StripeCustomerRecord>().FirstOrDefaultAsync(c => c.TenantId == tenantId, ct);

        // A subscription created outside Lanes' checkout (dashboard, API) is linked by the webhook instead.
        return record?.Id ?? (await subscriptions.FindAsync(tenantId, ct))?.StripeCustomerId;
    }

    private async Task<Guid?> TenantOfAsync(global::Stripe.Subscription remote, CancellationToken ct)
    {
        if (remote.Metadata?.TryGetValue("tenant_id", out var text) == true && Guid.TryParse(text, out var id))
        {
            return id;
        }

        await using var query = store.QuerySession();
        return (await query.LoadAsync<StripeCustomerRecord>(remote.CustomerId, ct))?.TenantId;
    }

    private static StripeView View(global::Stripe.Subscription s, Guid? tenantId)
    {
        var item = s.Items.Data.FirstOrDefault();
        return new StripeView(s.Id, s.CustomerId, s.Status, item?.Price?.Id,
            new DateTimeOffset(DateTime.SpecifyKind(item?.CurrentPeriodStart ?? s.StartDate, DateTimeKind.Utc)),
            new DateTimeOffset(DateTime.SpecifyKind(item?.CurrentPeriodEnd ?? s.StartDate, DateTimeKind.Utc)),
            s.CancelAtPeriodEnd, tenantId);
    }

    private static RequestOptions Idempotent(string key) => new() { IdempotencyKey = $"lanes:{key}" };

    private static partial class Log
    {
        [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Stripe subscription {SubscriptionId} belongs to no known tenant; ignored")]
        public static partial void UnknownTenant(ILogger logger, string subscriptionId);

        [LoggerMessage(EventId = 3109, Level = LogLevel.Warning, Message = "Second Stripe subscription {SubscriptionId} canceled: the tenant already pays through {Kept}; refund its invoice")]
        public static partial void DuplicateCanceled(ILogger logger, string subscriptionId, string kept);

        [LoggerMessage(EventId = 3108, Level = LogLevel.Information, Message = "Stripe subscription {SubscriptionId} paid late after dunning ended it: restored with {Keys} keys")]
        public static partial void RestoredAfterLatePayment(ILogger logger, string subscriptionId, int keys);

        [LoggerMessage(EventId = 3107, Level = LogLevel.Information, Message = "Stripe subscription {SubscriptionId} canceled in Stripe: its grace period ended unpaid")]
        public static partial void DunningCanceled(ILogger logger, string subscriptionId);

        [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Stripe subscription {SubscriptionId} not reconciled: {Code}")]
        public static partial void NotReconciled(ILogger logger, string subscriptionId, string code);
    }
}
