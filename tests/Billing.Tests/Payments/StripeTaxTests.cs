using Lanes.Billing.Payments;
using Lanes.Billing.Tenants;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Payments;

/// <summary>A deployment with Stripe Tax set up: Checkout collects what tax needs.</summary>
[Collection(HangfireServers.Name)]
public class StripeTaxTests(TaxedBillingWithStripe billing) : IClassFixture<TaxedBillingWithStripe>
{
    [Fact]
    public async Task Checkout_calculates_tax_from_the_billing_address_it_collects_and_takes_tax_ids()
    {
        var tenant = await billing.Get<TenantService>().CreateAsync($"tx-{Guid.NewGuid():N}"[..20], "Taxed", "test", ("user-1", "owner@test.local"));

        await billing.Get<StripeBilling>().CheckoutAsync(tenant.Id, "pro", "owner@test.local", Guid.NewGuid());

        var session = billing.Stripe.To("POST", "/v1/checkout/sessions").Single(r => r.Form["client_reference_id"] == tenant.Id.ToString());
        Assert.Equal(("true", "true", "required", "auto", "auto"), (session.Form["automatic_tax[enabled]"], session.Form["tax_id_collection[enabled]"],
            session.Form["billing_address_collection"], session.Form["customer_update[address]"], session.Form["customer_update[name]"]));
    }
}
