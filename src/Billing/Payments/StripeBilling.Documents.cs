using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Marten;
using global::Stripe;

namespace Lanes.Billing.Payments;

/// <summary>Refunds, credit notes and disputes: recorded from Stripe's webhooks in the tenant's documents (and, when the
/// money moved, in its subscription's history), so the billing page, the management API and staff all see them.</summary>
public sealed partial class StripeBilling
{
    /// <summary>Records a refund, credit note or dispute as Stripe has it now (read fresh, so a late or repeated
    /// webhook converges to the newest state). The history gets an entry when the amount refunded or the dispute's
    /// status moved, decided from the subscription under its lock, so concurrent deliveries record it once.</summary>
    public async Task RecordDocumentAsync(IHasObject stripeObject, CancellationToken ct = default)
    {
        var (customer, document) = stripeObject switch
        {
            Charge c => RefundOf(await stripe.V1.Charges.GetAsync(c.Id, cancellationToken: ct)),
            CreditNote n => CreditNoteOf(await stripe.V1.CreditNotes.GetAsync(n.Id, cancellationToken: ct)),
            Dispute d => await DisputeOfAsync(await stripe.V1.Disputes.GetAsync(d.Id, cancellationToken: ct), ct),
            _ => (null, null),
        };
        if (customer is null || document is null || await TenantOfCustomerAsync(customer, ct) is not { } tenantId)
        {
            Log.DocumentOfUnknownCustomer(logger, stripeObject.Object, customer ?? "?");
            return;
        }

        await using (var session = store.LightweightSession(Tenant.MartenTenantOf(tenantId)))
        {
            session.Store(document);
            await session.SaveChangesAsync(ct);
        }

        if (await subscriptions.FindAsync(tenantId, ct) is null)
        {
            return; // no subscription, no history to add to (a one-off charge): the document is the record
        }

        var now = clock.GetUtcNow();
        await subscriptions.ApplyAsync(tenantId, s => document.Kind switch
        {
            BillingDocumentKind.Refund when s!.Refunded.GetValueOrDefault(document.Charge!) != document.Amount =>
                [new PaymentRefunded(tenantId, document.Charge!, document.Amount, document.Currency, now)],
            BillingDocumentKind.Dispute when s!.Disputes.GetValueOrDefault(document.Id) != document.Status =>
                [new PaymentDisputed(tenantId, document.Id, document.Charge ?? "", document.Amount, document.Currency, document.Reason ?? "general", document.Status, now)],
            _ => [],
        }, enforceCapacity: false, ct);
    }

    private static (string?, BillingDocument?) RefundOf(Charge c) => (c.CustomerId,
        new BillingDocument($"{c.Id}/refund", BillingDocumentKind.Refund, null, Utc(c.Created), c.AmountRefunded, c.Currency,
            c.Refunded ? "refunded" : "partially_refunded", c.ReceiptUrl, null, c.Id));

    private static (string?, BillingDocument?) CreditNoteOf(CreditNote n) => (n.CustomerId,
        new BillingDocument(n.Id, BillingDocumentKind.CreditNote, n.Number, Utc(n.Created), n.Total, n.Currency, n.Status, n.Pdf, n.Reason, null));

    private async Task<(string?, BillingDocument?)> DisputeOfAsync(Dispute d, CancellationToken ct) => (await CustomerOfChargeAsync(d.ChargeId, ct),
        new BillingDocument(d.Id, BillingDocumentKind.Dispute, null, Utc(d.Created), d.Amount, d.Currency, d.Status, null, d.Reason, d.ChargeId));

    /// <summary>The tenant's refunds, credit notes and disputes, newest first.</summary>
    public async Task<IReadOnlyList<BillingDocument>> DocumentsAsync(Guid tenantId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await query.Query<BillingDocument>().OrderByDescending(d => d.Created).Take(100).ToListAsync(ct);
    }

    private async Task<string?> CustomerOfChargeAsync(string? chargeId, CancellationToken ct) =>
        chargeId is null ? null : (await stripe.V1.Charges.GetAsync(chargeId, cancellationToken: ct)).CustomerId;
}
