namespace Lanes.Billing.Payments;

/// <summary>
/// A refund, credit note or dispute on the tenant's Stripe account, recorded from Stripe's webhooks (Stripe cannot
/// list refunds or disputes by customer) in the tenant's own documents. Amounts are in the currency's smallest unit,
/// as Stripe gives them; <see cref="Url"/> is Stripe's receipt or PDF for the customer, when there is one.
/// </summary>
public sealed record BillingDocument(
    string Id, BillingDocumentKind Kind, string? Number, DateTimeOffset Created, long Amount, string Currency, string Status,
    string? Url, string? Reason, string? Charge);

public enum BillingDocumentKind
{
    Refund,
    CreditNote,
    Dispute,
}
