namespace Lanes.Billing.Payments;

/// <summary>The one Stripe customer of a tenant (global document: the webhook job finds tenants from customers).</summary>
public sealed record StripeCustomerRecord(string Id, Guid TenantId, DateTimeOffset CreatedAt);

/// <summary>
/// A webhook delivery, recorded before it is acknowledged. Its id is Stripe's event id, so a second delivery fails to
/// insert and is a no-op. The job that processes it marks it done; the nightly reconciliation picks up any left over.
/// </summary>
public sealed record StripeEventReceipt(string Id, string Type, DateTimeOffset Created, string Payload, DateTimeOffset ReceivedAt, DateTimeOffset? ProcessedAt = null);

/// <summary>What a plan change would cost now (the proration lines only, in the currency's smallest unit) and when the
/// lanes change. <paramref name="ProrationDate"/> goes back with the change, so the charge is exactly what was shown.</summary>
public sealed record PlanChangePreview(
    string From, string To, long AmountDueCents, string Currency, DateTimeOffset LanesChangeAt, bool Immediate,
    DateTimeOffset ProrationDate = default, IReadOnlyList<PreviewLine>? Lines = null);

/// <summary>One proration line of a preview: the unused time credited, or the remaining time charged.</summary>
public sealed record PreviewLine(string Description, long AmountCents);

/// <summary>One invoice as the billing page lists it; amounts in the currency's smallest unit, as Stripe gives them.</summary>
public sealed record InvoiceSummary(
    string Id, string? Number, DateTimeOffset Created, long Total, long AmountPaid, string Currency, string? Status, string? HostedUrl, string? PdfUrl);

/// <summary>An open Stripe Checkout of a tenant: while it is open the same plan's checkout is reused, so a double click
/// or a second tab never starts a second payment; choosing another plan expires it first.</summary>
public sealed record StripeCheckoutRecord(string Id, Guid TenantId, string PlanId, string Url, DateTimeOffset ExpiresAt, bool Closed = false);

/// <summary>What a plan change did: the subscription now, and, when Stripe is waiting for the customer to pay or
/// authenticate the upgrade's invoice (a pending update), where they do it. The lanes change only once it is paid.</summary>
public sealed record PlanChangeResult(Lanes.Billing.Subscriptions.Subscription Subscription, string? PaymentUrl)
{
    public bool PaymentPending => PaymentUrl is not null;
}
