using System.Text.Json.Serialization;
using Lanes.Billing.Payments;
using Lanes.Portal.Api.Auth;
using Lanes.Shared.Money;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Lanes.Portal.Api.Subscriptions;

/// <summary>An amount as Stripe keeps it (in the currency's smallest unit) and as a person reads it.</summary>
public sealed record AmountView(
    [property: JsonPropertyName("minor_units")] long MinorUnits,
    [property: JsonPropertyName("currency")] string Currency,
    [property: JsonPropertyName("display")] string Display)
{
    public static AmountView Of(long amount, string currency) => new(amount, currency, Lanes.Shared.Money.MinorUnits.Format(amount, currency));
}

public sealed record InvoiceView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("number")] string? Number,
    [property: JsonPropertyName("created")] DateTimeOffset Created,
    [property: JsonPropertyName("total")] AmountView Total,
    [property: JsonPropertyName("amount_paid")] AmountView AmountPaid,
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("hosted_url")] string? HostedUrl,
    [property: JsonPropertyName("pdf_url")] string? PdfUrl);

public sealed record BillingDocumentView(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("number")] string? Number,
    [property: JsonPropertyName("created")] DateTimeOffset Created,
    [property: JsonPropertyName("amount")] AmountView Amount,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("reason")] string? Reason,
    [property: JsonPropertyName("url")] string? Url);

/// <summary><c>/api/v1/invoices</c> and <c>/api/v1/billing-documents</c>: what the tenant was billed (from Stripe) and
/// the refunds, credit notes and disputes on its account. Empty in internal mode (staff invoice outside Lanes).</summary>
public static class InvoicesApi
{
    public static void MapInvoicesApi(this RouteGroupBuilder api)
    {
        api.MapGet("/invoices", GetInvoicesAsync).WithTags("Subscription").WithName("ListInvoices")
            .RequireScope(ManagementScopes.BillingRead).WithSummary("The tenant's latest Stripe invoices, newest first");
        api.MapGet("/billing-documents", GetDocumentsAsync).WithTags("Subscription").WithName("ListBillingDocuments")
            .RequireScope(ManagementScopes.BillingRead).WithSummary("Refunds, credit notes and disputes, newest first");
    }

    private static async Task<Ok<IReadOnlyList<InvoiceView>>> GetInvoicesAsync(HttpContext http, StripeBilling stripe, BillingModeInfo mode)
    {
        if (mode.Mode != BillingMode.Stripe)
        {
            return TypedResults.Ok<IReadOnlyList<InvoiceView>>([]);
        }

        var invoices = await stripe.InvoicesAsync(ManagementCaller.Of(http).TenantId, ct: http.RequestAborted);
        return TypedResults.Ok<IReadOnlyList<InvoiceView>>([.. invoices.Select(i => new InvoiceView(
            i.Id, i.Number, i.Created, AmountView.Of(i.Total, i.Currency), AmountView.Of(i.AmountPaid, i.Currency), i.Status, i.HostedUrl, i.PdfUrl))]);
    }

    private static async Task<Ok<IReadOnlyList<BillingDocumentView>>> GetDocumentsAsync(HttpContext http, StripeBilling stripe)
    {
        var documents = await stripe.DocumentsAsync(ManagementCaller.Of(http).TenantId, http.RequestAborted);
        return TypedResults.Ok<IReadOnlyList<BillingDocumentView>>([.. documents.Select(d => new BillingDocumentView(
            d.Id, System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(d.Kind.ToString()), d.Number, d.Created,
            AmountView.Of(d.Amount, d.Currency), d.Status, d.Reason, d.Url))]);
    }
}
