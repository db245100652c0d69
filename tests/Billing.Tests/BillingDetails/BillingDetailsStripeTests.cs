using Lanes.Billing.BillingDetails;
using Lanes.Billing.Payments;
using Lanes.Billing.Tenants;
using Lanes.Billing.Tests.Payments;

namespace Lanes.Billing.Tests.BillingDetails;

/// <summary>Billing details in Stripe mode: the tenant's Stripe customer carries them.</summary>
[Collection(HangfireServers.Name)]
public class BillingDetailsStripeTests(BillingWithStripe billing) : IClassFixture<BillingWithStripe>
{
    private static readonly BillingDetailsCommand Acme = new("billing@acme.test", "Acme GmbH",
        new BillingAddressInput("Friedrichstr. 123", "3. OG", "Berlin", "10117", null, "DE"), Guid.NewGuid());

    private async Task<Tenant> NewTenantAsync() =>
        await billing.Get<TenantService>().CreateAsync($"d-{Guid.NewGuid():N}"[..20], "Details tenant", "test", ("user-1", "owner@test.local"));

    /// <summary>The Stripe customer id a checkout created for the tenant.</summary>
    private async Task<string> CustomerOfAsync(Tenant tenant)
    {
        await billing.Get<StripeBilling>().CheckoutAsync(tenant.Id, "pro", "owner@test.local", Guid.NewGuid());
        return billing.Stripe.To("POST", "/v1/checkout/sessions").Last(r => r.Form["client_reference_id"] == tenant.Id.ToString()).Form["customer"];
    }

    [Fact]
    public async Task Saving_billing_details_updates_the_tenants_stripe_customer_with_an_idempotency_key_of_the_command()
    {
        var tenant = await NewTenantAsync();
        var customer = await CustomerOfAsync(tenant);

        var saved = await billing.Get<BillingContactService>().UpdateAsync(tenant.Id, Acme, "owner-1");

        var update = Assert.Single(billing.Stripe.To("POST", $"/v1/customers/{customer}"));
        Assert.Equal($"lanes:customer-update:{tenant.Id}:{Acme.CommandId}", update.IdempotencyKey);
        Assert.Equal(("billing@acme.test", "Acme GmbH"), (update.Form["email"], update.Form["name"]));
        Assert.Equal(("Friedrichstr. 123", "3. OG", "Berlin", "10117", "DE"),
            (update.Form["address[line1]"], update.Form["address[line2]"], update.Form["address[city]"], update.Form["address[postal_code]"], update.Form["address[country]"]));
        Assert.Equal(saved, await billing.Get<BillingContactService>().FindAsync(tenant.Id));
        Assert.Equal(tenant.Id, await billing.Get<StripeBilling>().TenantOfCustomerAsync(customer));
        Assert.Null(await billing.Get<StripeBilling>().TenantOfCustomerAsync("cus_nobody"));
    }

    [Fact]
    public async Task A_removed_name_and_address_are_removed_from_the_customer_but_its_email_stays_without_a_billing_email()
    {
        var tenant = await NewTenantAsync();
        var customer = await CustomerOfAsync(tenant);

        await billing.Get<BillingContactService>().UpdateAsync(tenant.Id, new BillingDetailsCommand(null, null, null, Guid.NewGuid()), "owner-1");

        var update = Assert.Single(billing.Stripe.To("POST", $"/v1/customers/{customer}"));
        Assert.False(update.Form.ContainsKey("email"));
        Assert.Equal(("", "", ""), (update.Form["name"], update.Form["address[line1]"], update.Form["address[country]"]));
    }

    [Fact]
    public async Task A_customer_created_after_the_details_were_saved_gets_the_billing_email_name_and_address_not_the_login_email()
    {
        var tenant = await NewTenantAsync();

        await billing.Get<BillingContactService>().UpdateAsync(tenant.Id, Acme, "owner-1");
        await billing.Get<StripeBilling>().CheckoutAsync(tenant.Id, "pro", "owner@test.local", Guid.NewGuid());

        var created = Assert.Single(billing.Stripe.To("POST", "/v1/customers"), r => r.Path == "/v1/customers" && r.Form["metadata[tenant_id]"] == tenant.Id.ToString());
        Assert.Equal("billing@acme.test", created.Form["email"]);
        Assert.Equal(("Acme GmbH", "Friedrichstr. 123", "DE"), (created.Form["name"], created.Form["address[line1]"], created.Form["address[country]"]));
    }

    [Fact]
    public async Task Details_stripe_refuses_are_a_rule_violation_with_stripes_reason_and_change_nothing_in_lanes()
    {
        var tenant = await NewTenantAsync();
        await CustomerOfAsync(tenant);
        billing.Stripe.NextError = ("invalid_request_error", "postal_code_invalid", "Your postal code is invalid.", 400);

        var refused = await Assert.ThrowsAsync<RuleViolation>(() => billing.Get<BillingContactService>().UpdateAsync(tenant.Id, Acme, "owner-1"));

        Assert.Equal("stripe_refused", refused.Code);
        Assert.Contains("Your postal code is invalid.", refused.Message);
        Assert.Null(await billing.Get<BillingContactService>().FindAsync(tenant.Id));
    }
}
