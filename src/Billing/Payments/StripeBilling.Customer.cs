using Lanes.Billing.BillingDetails;
using Lanes.Billing.Tenants;
using Marten;
using global::Stripe;

namespace Lanes.Billing.Payments;

/// <summary>The tenant's Stripe customer and its billing contact: the name, address and email its invoices carry.</summary>
public sealed partial class StripeBilling
{
    /// <summary>Sends the billing contact to the tenant's Stripe customer, when it has one (its first checkout creates
    /// it with the billing email). False when there is no customer yet. Note: without a billing email the customer
    /// keeps the email it has, so Stripe always has somewhere to send invoices; a name or address removed in Lanes is
    /// removed in Stripe.</summary>
    public async Task<bool> UpdateCustomerAsync(Guid tenantId, BillingContact contact, Guid commandId, CancellationToken ct = default)
    {
        if (await FindCustomerAsync(tenantId, ct) is not { } customer)
        {
            return false;
        }

        var address = contact.Address;
        var update = new CustomerUpdateOptions
        {
            Email = contact.Email,
            Name = contact.Name ?? "",
            Address = new AddressOptions
            {
                Line1 = address?.Line1 ?? "",
                Line2 = address?.Line2 ?? "",
                City = address?.City ?? "",
                PostalCode = address?.PostalCode ?? "",
                State = address?.State ?? "",
                Country = address?.Country ?? "",
            },
        };
        try
        {
            await stripe.V1.Customers.UpdateAsync(customer, update, Idempotent($"customer-update:{tenantId}:{commandId}"), ct);
        }
        catch (StripeException e) when (e.StripeError?.Type == "invalid_request_error")
        {
            throw new RuleViolation("stripe_refused", $"Stripe refused the billing details: {e.StripeError.Message}");
        }

        return true;
    }

    /// <summary>The tenant a Stripe customer belongs to (for invoice events, which name the customer): the customer Lanes
    /// created at checkout, or the one a subscription created elsewhere was linked to.</summary>
    public async Task<Guid?> TenantOfCustomerAsync(string customerId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        if (await query.LoadAsync<StripeCustomerRecord>(customerId, ct) is { } record)
        {
            return record.TenantId;
        }

        var linked = await query.Query<Lanes.Billing.Subscriptions.Subscription>()
            .Where(s => s.AnyTenant() && s.StripeCustomerId == customerId)
            .Select(s => s.TenantId)
            .ToListAsync(ct);
        return linked.Count == 0 ? null : linked[0];
    }

    /// <summary>The billing contact an owner set: a new Stripe customer gets its email (instead of the signed-in
    /// person's), name and address.</summary>
    private async Task<BillingContact?> BillingContactOfAsync(Guid tenantId, CancellationToken ct)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await query.LoadAsync<BillingContact>(tenantId, ct);
    }

    private static AddressOptions? AddressOf(BillingContact? contact) => contact?.Address is not { } a ? null : new AddressOptions
    {
        Line1 = a.Line1,
        Line2 = a.Line2,
        City = a.City,
        PostalCode = a.PostalCode,
        State = a.State,
        Country = a.Country,
    };
}
