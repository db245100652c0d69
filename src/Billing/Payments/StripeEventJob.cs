using Hangfire;
using Marten;
using Microsoft.Extensions.Logging;
using global::Stripe;

namespace Lanes.Billing.Payments;

/// <summary>
/// Processes one recorded webhook. Ordering is made safe by acting on the subscription as Stripe has it now, never
/// on the event's copy: a late <c>customer.subscription.updated</c> converges to the same state as the newest one.
/// Re-entrant: running it twice syncs twice to the same result.
/// </summary>
public sealed partial class StripeEventJob(
    IDocumentStore store, StripeBilling billing, Notices.BillingNoticeQueue notices, TimeProvider clock, ILogger<StripeEventJob> logger)
{
    [AutomaticRetry(Attempts = 10)]
    public async Task ProcessAsync(string eventId, CancellationToken ct)
    {
        await using var session = store.LightweightSession();
        var receipt = await session.LoadAsync<StripeEventReceipt>(eventId, ct);
        if (receipt is null || receipt.ProcessedAt is not null)
        {
            return;
        }

        var stripeEvent = EventUtility.ParseEvent(receipt.Payload, throwOnApiVersionMismatch: false);
        var subscriptionId = stripeEvent.Data.Object switch
        {
            global::Stripe.Subscription s => s.Id,
            global::Stripe.Checkout.Session c => c.SubscriptionId,
            Invoice i => i.Parent?.SubscriptionDetails?.SubscriptionId,
            _ => null,
        };

        // A checkout that ends frees (or, paid, hands over) the lanes set aside for it.
        if (stripeEvent.Data.Object is global::Stripe.Checkout.Session checkout)
        {
            var outcome = stripeEvent.Type switch
            {
                EventTypes.CheckoutSessionCompleted => checkout.PaymentStatus == "unpaid" ? "processing" : "paid",
                EventTypes.CheckoutSessionAsyncPaymentSucceeded => "paid",
                EventTypes.CheckoutSessionAsyncPaymentFailed => "failed",
                EventTypes.CheckoutSessionExpired => "expired",
                _ => null,
            };
            if (outcome is not null)
            {
                await billing.CheckoutClosedAsync(checkout, outcome, ct);
            }
        }

        switch (stripeEvent.Type)
        {
            case EventTypes.CheckoutSessionCompleted:
            case EventTypes.CheckoutSessionAsyncPaymentSucceeded:
            case EventTypes.CheckoutSessionAsyncPaymentFailed:
            case EventTypes.CustomerSubscriptionCreated:
            case EventTypes.CustomerSubscriptionUpdated:
            case EventTypes.CustomerSubscriptionDeleted:
            case EventTypes.CustomerSubscriptionPaused:
            case EventTypes.CustomerSubscriptionResumed:
            case EventTypes.InvoicePaid:
            case EventTypes.InvoicePaymentFailed:
            case EventTypes.InvoicePaymentActionRequired:
                if (subscriptionId is not null)
                {
                    await billing.SyncAsync(subscriptionId, "stripe", ct);
                }

                // The bank wants the customer to confirm a payment (3-D Secure): Lanes emails them the invoice to
                // confirm it on, once per invoice however often Stripe repeats the event.
                if (stripeEvent.Type == EventTypes.InvoicePaymentActionRequired
                    && stripeEvent.Data.Object is Invoice { Id: { } invoiceId, CustomerId: { } customerId } invoice
                    && await billing.TenantOfCustomerAsync(customerId, ct) is { } tenantId)
                {
                    await notices.QueueAuthenticationNeededAsync(tenantId, invoice.HostedInvoiceUrl, invoiceId, ct);
                }

                break;
            case EventTypes.CheckoutSessionExpired:
                break;
            case EventTypes.ChargeRefunded:
            case EventTypes.ChargeRefundUpdated:
            case EventTypes.CreditNoteCreated:
            case EventTypes.CreditNoteUpdated:
            case EventTypes.CreditNoteVoided:
            case EventTypes.ChargeDisputeCreated:
            case EventTypes.ChargeDisputeUpdated:
            case EventTypes.ChargeDisputeClosed:
            case EventTypes.ChargeDisputeFundsWithdrawn:
            case EventTypes.ChargeDisputeFundsReinstated:
                await billing.RecordDocumentAsync(stripeEvent.Data.Object, ct);
                break;
            case EventTypes.CustomerSubscriptionTrialWillEnd:
                Log.TrialEnding(logger, subscriptionId ?? "?");
                break;
            default:
                Log.Ignored(logger, stripeEvent.Type, eventId);
                break;
        }

        session.Store(receipt with { ProcessedAt = clock.GetUtcNow() });
        await session.SaveChangesAsync(ct);
    }

    /// <summary>Nightly: correct drift against Stripe, and process any recorded event whose job never ran.</summary>
    [AutomaticRetry(Attempts = 3)]
    public async Task ReconcileAsync(CancellationToken ct)
    {
        IReadOnlyList<string> stale;
        await using (var query = store.QuerySession())
        {
            stale = await query.Query<StripeEventReceipt>().Where(r => r.ProcessedAt == null).Select(r => r.Id).ToListAsync(ct);
        }

        foreach (var id in stale)
        {
            try
            {
                await ProcessAsync(id, ct);
            }
            catch (Exception e) when (e is RuleViolation or global::Stripe.StripeException)
            {
                Log.NotProcessed(logger, id, e.Message);
            }
        }

        Log.Reconciled(logger, await billing.ReconcileAsync(ct));

        // The Customer Portal is configured in code: a Dashboard edit is put back nightly.
        await billing.ApplyPortalConfigurationAsync(ct);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3102, Level = LogLevel.Information, Message = "Stripe event {Type} ({EventId}) acknowledged; Lanes does not act on it")]
        public static partial void Ignored(ILogger logger, string type, string eventId);

        [LoggerMessage(EventId = 3103, Level = LogLevel.Information, Message = "Trial of Stripe subscription {SubscriptionId} ends soon")]
        public static partial void TrialEnding(ILogger logger, string subscriptionId);

        [LoggerMessage(EventId = 3106, Level = LogLevel.Warning, Message = "Stripe event {EventId} could not be processed: {Reason}")]
        public static partial void NotProcessed(ILogger logger, string eventId, string reason);

        [LoggerMessage(EventId = 3104, Level = LogLevel.Information, Message = "Stripe reconciliation corrected {Count} subscriptions")]
        public static partial void Reconciled(ILogger logger, int count);
    }
}
