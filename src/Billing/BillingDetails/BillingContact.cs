namespace Lanes.Billing.BillingDetails;

/// <summary>A postal address as an invoice prints it. <see cref="Country"/> is an ISO 3166-1 alpha-2 code ("DE", "GB").</summary>
public sealed record BillingAddress(string Line1, string? Line2, string? City, string? PostalCode, string? State, string Country);

/// <summary>
/// Who a tenant's invoices and billing notices are for, and the address invoices carry: one document per tenant (id =
/// tenant id), stored under the tenant like everything it owns. Every part is optional: without an email, billing
/// notices go to the tenant's owners and the Stripe customer keeps the email it was created with.
/// </summary>
public sealed record BillingContact(Guid Id, string? Email, string? Name, BillingAddress? Address, string UpdatedBy, DateTimeOffset UpdatedAt)
{
    public Guid TenantId => Id;
}
