using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;
using PlanTier = Lanes.Shared.Plans.PlanTier;
using SubscriptionService = Lanes.Billing.Subscriptions.SubscriptionService;
using Marten;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using global::Stripe;
using global::Stripe.Checkout;

namespace Lanes.Billing.Payments;

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
    StripeSyncLock syncLock,
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

        if (await subscriptions.FindPendingAsync(tenantId, ct) is { PaymentProcessing: true })
        {
            // Paid by a method that settles later (a bank debit): a second checkout could be paid as well.
            throw new RuleViolation("payment_processing", "Your payment is still processing: the plan starts as soon as your bank confirms it.");
        }

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

        // Note: the lanes are set aside before the customer is sent to pay, under the capacity lock, so two customers
        // can never both pay for the last free lanes. Refused here, before any money moves.
        var expiresAt = now.AddHours(24);
        await subscriptions.SetAsidePendingAsync(tenantId, plan, expiresAt, ct);
        try
        {
            var customer = await CustomerOfAsync(tenantId, email, ct);
            foreach (var other in open)
            {
                await ExpireCheckoutAsync(other, ct);
            }

            var session = await stripe.V1.Checkout.Sessions.CreateAsync(CheckoutOptions(tenantId, plan, price, customer),
                Idempotent($"checkout:{tenantId}:{plan.Id}:{commandId}"), ct);
            var sessionExpires = session.ExpiresAt > DateTime.UnixEpoch ? Utc(session.ExpiresAt) : expiresAt;
            await using (var recording = store.LightweightSession())
            {
                recording.Store(new StripeCheckoutRecord(session.Id, tenantId, plan.Id, session.Url, sessionExpires));
                await recording.SaveChangesAsync(ct);
            }

            await subscriptions.UpdatePendingAsync(tenantId, p => p with { CheckoutSessionId = session.Id, ExpiresAt = sessionExpires }, ct);
            return session.Url;
        }
        catch
        {
            // No checkout to pay: nothing to set aside.
            await subscriptions.UpdatePendingAsync(tenantId, p => p.CheckoutSessionId is null ? null : p, CancellationToken.None);
            throw;
        }
    }

    /// <summary>A checkout finished: paid (the subscription takes the lanes over when it starts), paid by a method
    /// that settles later (the lanes stay aside while it processes), or expired or failed (the lanes are freed).</summary>
    public async Task CheckoutClosedAsync(global::Stripe.Checkout.Session session, string outcome, CancellationToken ct = default)
    {
        await using (var closing = store.LightweightSession())
        {
            if (await closing.LoadAsync<StripeCheckoutRecord>(session.Id, ct) is { } record)
            {
                closing.Store(record with { Closed = true });
                await closing.SaveChangesAsync(ct);
            }
        }

        if (!Guid.TryParse(session.ClientReferenceId, out var tenantId))
        {
            return;
        }

        await subscriptions.UpdatePendingAsync(tenantId, p => p.CheckoutSessionId is not null && p.CheckoutSessionId != session.Id ? p : outcome switch
        {
            // A bank debit takes days to settle: the lanes stay aside (and no second checkout starts) meanwhile.
            "processing" => p with { CheckoutSessionId = session.Id, PaymentProcessing = true, ExpiresAt = clock.GetUtcNow() + _options.ProcessingHold },
            "paid" => p,
            _ => null,
        }, ct);
    }

    private SessionCreateOptions CheckoutOptions(Guid tenantId, PlanTier plan, string price, string customer)
    {
        var options = new SessionCreateOptions
        {
            Mode = "subscription",
            Customer = customer,
            ClientReferenceId = tenantId.ToString(),
            LineItems = [new SessionLineItemOptions { Price = price, Quantity = 1 }],
            SuccessUrl = _options.SuccessUrl,
            CancelUrl = _options.CancelUrl,
            Metadata = new Dictionary<string, string> { ["tenant_id"] = tenantId.ToString(), ["plan"] = plan.Id },
            SubscriptionData = new SessionSubscriptionDataOptions { Metadata = new Dictionary<string, string> { ["tenant_id"] = tenantId.ToString() } },
        };
        if (_options.AutomaticTax)
        {
            // Stripe Tax needs the customer's address; a business buyer can add its tax ID, and both are saved on the
            // customer so renewals are taxed the same way.
            options.AutomaticTax = new SessionAutomaticTaxOptions { Enabled = true };
            options.TaxIdCollection = new SessionTaxIdCollectionOptions { Enabled = true };
            options.BillingAddressCollection = "required";
            options.CustomerUpdate = new SessionCustomerUpdateOptions { Address = "auto", Name = "auto" };
        }

        return options;
    }

    private async Task ExpireCheckoutAsync(StripeCheckoutRecord other, CancellationToken ct)
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

    /// <summary>A Stripe Customer Portal session for payment methods, invoices and cancellation.</summary>
    public async Task<string> PortalAsync(Guid tenantId, Guid commandId, CancellationToken ct = default)
    {
        var customer = await FindCustomerAsync(tenantId, ct) ?? throw new RuleViolation("no_customer", "The organisation has not paid through Stripe yet.");
        var session = await stripe.V1.BillingPortal.Sessions.CreateAsync(
            new global::Stripe.BillingPortal.SessionCreateOptions { Customer = customer, ReturnUrl = _options.PortalReturnUrl, Configuration = await PortalConfigurationIdAsync(ct) },
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
        if (!immediate)
        {
            // A downgrade is scheduled for the period end: nothing is charged or credited now.
            return new PlanChangePreview(local.PlanId, plan.Id, 0, remote.Currency ?? "usd", local.PeriodEnd, false, prorationDate, []);
        }

        var preview = await stripe.V1.Invoices.CreatePreviewAsync(new InvoiceCreatePreviewOptions
        {
            Customer = remote.CustomerId,
            Subscription = remote.Id,
            SubscriptionDetails = new InvoiceSubscriptionDetailsOptions
            {
                Items = [new InvoiceSubscriptionDetailsItemOptions { Id = remote.Items.Data[0].Id, Price = price }],
                ProrationBehavior = "always_invoice",
                ProrationDate = prorationDate.UtcDateTime,
            },
        }, cancellationToken: ct);

        // Note: only the proration lines are what the change costs; the preview invoice can also hold the next
        // period's charge and pending items, which the customer pays anyway.
        var lines = (preview.Lines?.Data ?? []).Where(l => l.Parent?.SubscriptionItemDetails?.Proration == true || l.Parent?.InvoiceItemDetails?.Proration == true)
            .Select(l => new PreviewLine(l.Description ?? "Proration", l.Amount)).ToList();
        return new PlanChangePreview(local.PlanId, plan.Id, lines.Sum(l => l.AmountCents), preview.Currency ?? "usd", prorationDate, true, prorationDate, lines);
    }

    /// <summary>Upgrades are charged prorated now and resize the lanes at once. Downgrades are a subscription schedule:
    /// the plan paid for runs to the period end, then the smaller one starts, and until then the customer can undo
    /// it (<see cref="KeepPlanAsync"/>). Choosing the current plan while a downgrade waits undoes it too.</summary>
    public async Task<PlanChangeResult> ChangePlanAsync(Guid tenantId, string planId, string by, Guid commandId, DateTimeOffset? prorationDate = null, CancellationToken ct = default)
    {
        if (await subscriptions.FindAsync(tenantId, ct) is { IsLive: true, ScheduledChange: not null } waiting && string.Equals(waiting.PlanId, planId, StringComparison.OrdinalIgnoreCase))
        {
            return new PlanChangeResult(await KeepPlanAsync(tenantId, by, commandId, ct), null);
        }

        var (local, remote, plan, price) = await ChangeContextAsync(tenantId, planId, ct);
        if (plan.ReservedLanes < local.PlanLanes)
        {
            return new PlanChangeResult(await ScheduleDowngradeAsync(tenantId, remote, plan, price, by, commandId, ct), null);
        }

        // A plan on another model pool needs all its lanes there; on the same pool, only the difference.
        var pool = ModelPools.Of(plan);
        var (allocated, total) = await subscriptions.CapacityAsync(pool, ct);
        var needed = plan.ReservedLanes - (subscriptions.PoolOf(local.PlanId) == pool ? local.AllocatedLanes : 0);
        if (total - allocated < needed)
        {
            throw new RuleViolation("capacity_exceeded", $"The {plan.Name} plan needs {needed} more lanes and {Math.Max(0, total - allocated)} are free right now.");
        }

        // A downgrade waiting in a schedule would undo the upgrade at the period end: the schedule goes first.
        if (remote.ScheduleId is { } scheduleId)
        {
            await ReleaseScheduleAsync(scheduleId, $"release:{scheduleId}:{commandId}", ct);
        }

        var updated = await stripe.V1.Subscriptions.UpdateAsync(remote.Id, new SubscriptionUpdateOptions
        {
            Items = [new SubscriptionItemOptions { Id = remote.Items.Data[0].Id, Price = price }],
            ProrationBehavior = "always_invoice",

            // The instant the preview priced, so the invoice charges what the customer was shown.
            ProrationDate = (prorationDate ?? clock.GetUtcNow()).UtcDateTime,

            // The new price (and so the lanes) applies only once the prorated invoice is paid.
            PaymentBehavior = "pending_if_incomplete",
            Expand = ["latest_invoice", "schedule"],
        }, Idempotent($"change-plan:{tenantId}:{plan.Id}:{commandId}"), ct);
        var now = await ApplyAsync(tenantId, View(updated, tenantId), by, ct);

        // A declined card or 3-D Secure leaves the update pending in Stripe: the customer is told where to pay, and
        // nothing changes here until Stripe says the invoice is paid.
        return updated.PendingUpdate is null
            ? new PlanChangeResult(now, null)
            : new PlanChangeResult(now, updated.LatestInvoice?.HostedInvoiceUrl ?? _options.PortalReturnUrl);
    }

    /// <summary>Undoes a downgrade waiting for the period end: the schedule is released (the subscription stays on the
    /// plan it has) and nothing changes at the period end.</summary>
    public async Task<Lanes.Billing.Subscriptions.Subscription> KeepPlanAsync(Guid tenantId, string by, Guid commandId, CancellationToken ct = default)
    {
        var local = await subscriptions.FindAsync(tenantId, ct);
        if (local is not { IsLive: true, StripeSubscriptionId: { } subscriptionId, ScheduledChange: not null })
        {
            throw new RuleViolation("nothing_scheduled", "No plan change is waiting for the end of the period.");
        }

        var remote = await GetAsync(subscriptionId, ct);
        if (remote.ScheduleId is { } scheduleId)
        {
            await ReleaseScheduleAsync(scheduleId, $"keep-plan:{tenantId}:{commandId}", ct);
        }
        else if (PriceOf(local.PlanId) is { } price && remote.Items.Data[0].Price?.Id != price)
        {
            // A price swapped without a schedule (the Dashboard, an older Lanes): swapped back, nothing prorated.
            await stripe.V1.Subscriptions.UpdateAsync(remote.Id, new SubscriptionUpdateOptions
            {
                Items = [new SubscriptionItemOptions { Id = remote.Items.Data[0].Id, Price = price }],
                ProrationBehavior = "none",
            }, Idempotent($"keep-plan:{tenantId}:{commandId}"), ct);
        }

        return await ApplyAsync(tenantId, View(await GetAsync(subscriptionId, ct), tenantId), by, ct);
    }

    private async Task<Lanes.Billing.Subscriptions.Subscription> ScheduleDowngradeAsync(
        Guid tenantId, global::Stripe.Subscription remote, PlanTier plan, string price, string by, Guid commandId, CancellationToken ct)
    {
        var schedule = remote.Schedule ?? (remote.ScheduleId is { } existing
            ? await stripe.V1.SubscriptionSchedules.GetAsync(existing, cancellationToken: ct)
            : await stripe.V1.SubscriptionSchedules.CreateAsync(new SubscriptionScheduleCreateOptions { FromSubscription = remote.Id },
                Idempotent($"schedule:{remote.Id}:{commandId}"), ct));
        var item = remote.Items.Data[0];
        await stripe.V1.SubscriptionSchedules.UpdateAsync(schedule.Id, new SubscriptionScheduleUpdateOptions
        {
            // After the smaller plan's first period the schedule lets go, and the subscription renews on it as usual.
            EndBehavior = "release",
            ProrationBehavior = "none",
            Phases =
            [
                new SubscriptionSchedulePhaseOptions
                {
                    Items = [new SubscriptionSchedulePhaseItemOptions { Price = item.Price.Id, Quantity = item.Quantity }],
                    StartDate = schedule.CurrentPhase?.StartDate ?? item.CurrentPeriodStart,
                    EndDate = item.CurrentPeriodEnd,
                },
                new SubscriptionSchedulePhaseOptions
                {
                    Items = [new SubscriptionSchedulePhaseItemOptions { Price = price, Quantity = item.Quantity }],
                    Duration = new SubscriptionSchedulePhaseDurationOptions { Interval = "month", IntervalCount = 1 },
                },
            ],
            Metadata = new Dictionary<string, string> { ["tenant_id"] = tenantId.ToString(), ["downgrade_to"] = plan.Id },
        }, Idempotent($"downgrade:{tenantId}:{plan.Id}:{commandId}"), ct);
        return await ApplyAsync(tenantId, View(await GetAsync(remote.Id, ct), tenantId), by, ct);
    }

    private async Task ReleaseScheduleAsync(string scheduleId, string key, CancellationToken ct)
    {
        try
        {
            await stripe.V1.SubscriptionSchedules.ReleaseAsync(scheduleId, new SubscriptionScheduleReleaseOptions { PreserveCancelDate = true }, Idempotent(key), ct);
        }
        catch (StripeException e) when (e.HttpStatusCode == System.Net.HttpStatusCode.BadRequest && e.StripeError?.Code is null or "resource_missing")
        {
            // Already released, completed or canceled: nothing holds the subscription any more.
        }
    }

    /// <summary>The subscription as Stripe has it now, with its schedule (what comes at the period end).</summary>
    private Task<global::Stripe.Subscription> GetAsync(string subscriptionId, CancellationToken ct) =>
        stripe.V1.Subscriptions.GetAsync(subscriptionId, new SubscriptionGetOptions { Expand = ["schedule"] }, cancellationToken: ct);

    public Task<Lanes.Billing.Subscriptions.Subscription> CancelAsync(Guid tenantId, string by, Guid commandId, CancellationToken ct = default) =>
        SetCancelAtPeriodEndAsync(tenantId, true, by, commandId, ct);

    public Task<Lanes.Billing.Subscriptions.Subscription> ResumeAsync(Guid tenantId, string by, Guid commandId, CancellationToken ct = default) =>
        SetCancelAtPeriodEndAsync(tenantId, false, by, commandId, ct);

    /// <summary>Reads the subscription from Stripe now and brings the tenant's subscription in line with it, one sync
    /// of a subscription at a time (<see cref="StripeSyncLock"/>): what is applied is never older than what another
    /// sync applied before it.</summary>
    public async Task<Lanes.Billing.Subscriptions.Subscription?> SyncAsync(string subscriptionId, string by, CancellationToken ct = default)
    {
        await using var held = await syncLock.AcquireAsync(subscriptionId, ct);
        var remote = await GetAsync(subscriptionId, ct);
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
        await foreach (var remote in stripe.V1.Subscriptions.ListAutoPagingAsync(new SubscriptionListOptions { Status = "all", Limit = 100, Expand = ["data.schedule"] }, cancellationToken: ct))
        {
            if (await TenantOfAsync(remote, ct) is not { } tenantId)
            {
                continue;
            }

            try
            {
                // The listed copy may be older than what a webhook job applied meanwhile: read again under the lock.
                await using var held = await syncLock.AcquireAsync(remote.Id, ct);
                var current = await GetAsync(remote.Id, ct);
                var before = await subscriptions.FindAsync(tenantId, ct);
                var after = await ApplyAsync(tenantId, View(current, tenantId), "reconciled", ct);
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
            var (refunded, currency) = await RefundInvoiceAsync(view.LatestInvoiceId, view.SubscriptionId, ct);
            Log.DuplicateCanceled(logger, view.SubscriptionId, kept, refunded);
            return live.CanceledDuplicates.Contains(view.SubscriptionId)
                ? live
                : await subscriptions.ApplyAsync(tenantId, s => s is { IsLive: true } && !s.CanceledDuplicates.Contains(view.SubscriptionId)
                    ? [new DuplicateStripeSubscriptionCanceled(tenantId, view.SubscriptionId, kept, clock.GetUtcNow(), refunded, currency)]
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

    /// <summary>Refunds in full what was paid on the invoice (a duplicate subscription's first one). Re-entrant: the
    /// idempotency key is the payment, so a retried job gets the same refund back instead of refunding twice.</summary>
    private async Task<(long Refunded, string? Currency)> RefundInvoiceAsync(string? invoiceId, string subscriptionId, CancellationToken ct)
    {
        if (invoiceId is null)
        {
            return (0, null);
        }

        long refunded = 0;
        string? currency = null;
        var payments = await stripe.V1.InvoicePayments.ListAsync(new InvoicePaymentListOptions { Invoice = invoiceId, Status = "paid" }, cancellationToken: ct);
        foreach (var payment in payments.Data.Where(p => p.Payment?.PaymentIntentId is not null))
        {
            var refund = await stripe.V1.Refunds.CreateAsync(new RefundCreateOptions
            {
                PaymentIntent = payment.Payment.PaymentIntentId,
                Reason = "duplicate",
                Metadata = new Dictionary<string, string> { ["subscription"] = subscriptionId, ["reason"] = "second_subscription" },
            }, Idempotent($"duplicate-refund:{payment.Id}"), ct);
            refunded += refund.Amount;
            currency = refund.Currency;
        }

        return (refunded, currency);
    }

    private async Task<Lanes.Billing.Subscriptions.Subscription> SetCancelAtPeriodEndAsync(Guid tenantId, bool cancel, string by, Guid commandId, CancellationToken ct)
    {
        var local = await subscriptions.FindAsync(tenantId, ct);
        if (local is not { IsLive: true, StripeSubscriptionId: { } subscriptionId })
        {
            throw new RuleViolation("no_subscription", "The organisation has no Stripe subscription.");
        }

        // Stripe refuses to cancel a subscription a schedule manages: cancelling drops a waiting downgrade.
        if (cancel && (await GetAsync(subscriptionId, ct)).ScheduleId is { } scheduleId)
        {
            await ReleaseScheduleAsync(scheduleId, $"cancel-release:{scheduleId}:{commandId}", ct);
        }

        var updated = await stripe.V1.Subscriptions.UpdateAsync(subscriptionId, new SubscriptionUpdateOptions { CancelAtPeriodEnd = cancel, Expand = ["schedule"] },
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

        return (local, await GetAsync(subscriptionId, ct), plan, price);
    }

    private async Task<string> CustomerOfAsync(Guid tenantId, string email, CancellationToken ct)
    {
        if (await FindCustomerAsync(tenantId, ct) is { } existing)
        {
            return existing;
        }

        // One customer per tenant: the idempotency key is the tenant, so two checkouts racing create one customer.
        var contact = await BillingContactOfAsync(tenantId, ct);
        var customer = await stripe.V1.Customers.CreateAsync(new CustomerCreateOptions
        {
            Email = contact?.Email ?? email,
            Name = contact?.Name,
            Address = AddressOf(contact),
            Metadata = new Dictionary<string, string> { ["tenant_id"] = tenantId.ToString() },
        }, Idempotent($"customer:{tenantId}"), ct);
        await using var session = store.LightweightSession();
        session.Store(new StripeCustomerRecord(customer.Id, tenantId, clock.GetUtcNow()));
        await session.SaveChangesAsync(ct);
        return customer.Id;
    }

    // A subscription created outside Lanes' checkout (dashboard, API) is linked by the webhook instead.
    private async Task<string?> FindCustomerAsync(Guid tenantId, CancellationToken ct) =>
        await LanesCustomerOfAsync(tenantId, ct) ?? (await subscriptions.FindAsync(tenantId, ct))?.StripeCustomerId;

    /// <summary>The customer Lanes created for the tenant at its first checkout, if any.</summary>
    private async Task<string?> LanesCustomerOfAsync(Guid tenantId, CancellationToken ct)
    {
        await using var query = store.QuerySession();
        return (await query.Query<StripeCustomerRecord>().FirstOrDefaultAsync(c => c.TenantId == tenantId, ct))?.Id;
    }

    /// <summary>
    /// The tenant a Stripe subscription serves. Note: the <c>tenant_id</c> metadata is typed by hand for a subscription
    /// made in the Dashboard, so it must agree with the customer: a customer Lanes created belongs to one tenant, and a
    /// tenant that has a customer is billed through it. A disagreement serves nobody and is logged for staff.
    /// </summary>
    private async Task<Guid?> TenantOfAsync(global::Stripe.Subscription remote, CancellationToken ct)
    {
        Guid? byCustomer;
        await using (var query = store.QuerySession())
        {
            byCustomer = (await query.LoadAsync<StripeCustomerRecord>(remote.CustomerId, ct))?.TenantId;
        }

        if (remote.Metadata?.TryGetValue("tenant_id", out var text) != true || !Guid.TryParse(text, out var byMetadata))
        {
            return byCustomer;
        }

        var customerOfTenant = byCustomer is not null ? null
            : await LanesCustomerOfAsync(byMetadata, ct) ?? (await subscriptions.FindAsync(byMetadata, ct) is { IsLive: true } live ? live.StripeCustomerId : null);
        if ((byCustomer is { } owner && owner != byMetadata) || (customerOfTenant is not null && customerOfTenant != remote.CustomerId))
        {
            Log.TenantMismatch(logger, remote.Id, remote.CustomerId);
            return null;
        }

        return byMetadata;
    }

    private static StripeView View(global::Stripe.Subscription s, Guid? tenantId)
    {
        var item = s.Items.Data.FirstOrDefault();

        // The phase after the current one, when a schedule manages the subscription (read only when expanded).
        var next = s.Schedule?.Phases?.Where(p => p.StartDate > DateTime.UnixEpoch && p.StartDate >= (s.Schedule.CurrentPhase?.EndDate ?? DateTime.MaxValue))
            .OrderBy(p => p.StartDate).FirstOrDefault();
        return new StripeView(s.Id, s.CustomerId, s.Status, item?.Price?.Id,
            Utc(item?.CurrentPeriodStart ?? s.StartDate), Utc(item?.CurrentPeriodEnd ?? s.StartDate), s.CancelAtPeriodEnd, tenantId)
        {
            Items = [.. s.Items.Data.Select(i => new StripeItem(i.Price?.Id, i.Quantity))],
            CancelAt = s.CancelAt is { } at ? Utc(at) : null,
            CollectionPause = s.PauseCollection?.Behavior,
            CollectionResumesAt = s.PauseCollection?.ResumesAt is { } resumes ? Utc(resumes) : null,
            ScheduleId = s.ScheduleId,
            LatestInvoiceId = s.LatestInvoiceId,
            ScheduledItems = next is null ? [] : [.. next.Items.Select(i => new StripeItem(i.PriceId, i.Quantity))],
            ScheduledAt = next is null ? null : Utc(next.StartDate),
        };
    }

    private static DateTimeOffset Utc(DateTime t) => new(DateTime.SpecifyKind(t, DateTimeKind.Utc));

    private static RequestOptions Idempotent(string key) => new() { IdempotencyKey = $"lanes:{key}" };

    private static partial class Log
    {
        [LoggerMessage(EventId = 3111, Level = LogLevel.Warning, Message = "Stripe {Object} of customer {CustomerId} belongs to no known tenant; not recorded")]
        public static partial void DocumentOfUnknownCustomer(ILogger logger, string @object, string customerId);

        [LoggerMessage(EventId = 3110, Level = LogLevel.Warning, Message = "Stripe subscription {SubscriptionId} names a tenant that customer {CustomerId} does not belong to; ignored until its metadata or customer is corrected")]
        public static partial void TenantMismatch(ILogger logger, string subscriptionId, string customerId);

        [LoggerMessage(EventId = 3101, Level = LogLevel.Warning, Message = "Stripe subscription {SubscriptionId} belongs to no known tenant; ignored")]
        public static partial void UnknownTenant(ILogger logger, string subscriptionId);

        [LoggerMessage(EventId = 3109, Level = LogLevel.Warning, Message = "Second Stripe subscription {SubscriptionId} canceled: the tenant already pays through {Kept}; {Refunded} (smallest unit) refunded")]
        public static partial void DuplicateCanceled(ILogger logger, string subscriptionId, string kept, long refunded);

        [LoggerMessage(EventId = 3108, Level = LogLevel.Information, Message = "Stripe subscription {SubscriptionId} paid late after dunning ended it: restored with {Keys} keys")]
        public static partial void RestoredAfterLatePayment(ILogger logger, string subscriptionId, int keys);

        [LoggerMessage(EventId = 3107, Level = LogLevel.Information, Message = "Stripe subscription {SubscriptionId} canceled in Stripe: its grace period ended unpaid")]
        public static partial void DunningCanceled(ILogger logger, string subscriptionId);

        [LoggerMessage(EventId = 3105, Level = LogLevel.Warning, Message = "Stripe subscription {SubscriptionId} not reconciled: {Code}")]
        public static partial void NotReconciled(ILogger logger, string subscriptionId, string code);
    }
}
