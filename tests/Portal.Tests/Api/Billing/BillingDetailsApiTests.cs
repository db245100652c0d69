using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Billing.BillingDetails;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;
using Lanes.Portal.Tests.Account;
using Lanes.Portal.Tests.Security;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Api.Billing;

/// <summary><c>/billing/api/billing-details</c>: members read the billing contact, only owners change it.</summary>
[Collection(PortalHosts.Name)]
public class BillingDetailsApiTests(SecuredPortal portal) : IClassFixture<SecuredPortal>
{
    private static readonly object Acme = new
    {
        email = "billing@acme.test",
        name = "Acme GmbH",
        address = new { line1 = "Friedrichstr. 123", line2 = (string?)null, city = "Berlin", postal_code = "10117", state = (string?)null, country = "de" },
        command_id = Guid.NewGuid(),
    };

    [Fact]
    public async Task An_owner_saves_the_billing_details_and_reads_them_back_normalised()
    {
        var (owner, _) = await portal.ConfirmedOwnerAsync();
        using (owner)
        {
            var before = await owner.GetFromJsonAsync<JsonElement>("/billing/api/billing-details");
            Assert.Equal((JsonValueKind.Null, JsonValueKind.Null), (before.GetProperty("email").ValueKind, before.GetProperty("address").ValueKind));

            using var saved = await owner.SendBillingAsync(HttpMethod.Put, "/billing/api/billing-details", Acme);
            Assert.Equal(HttpStatusCode.OK, saved.StatusCode);

            var after = await owner.GetFromJsonAsync<JsonElement>("/billing/api/billing-details");
            Assert.Equal(("billing@acme.test", "Acme GmbH"), (after.GetProperty("email").GetString(), after.GetProperty("name").GetString()));
            var address = after.GetProperty("address");
            Assert.Equal(("Friedrichstr. 123", "10117", "DE"), (address.GetProperty("line1").GetString(), address.GetProperty("postal_code").GetString(), address.GetProperty("country").GetString()));
            Assert.NotEqual(JsonValueKind.Null, after.GetProperty("updated_at").ValueKind);
        }
    }

    [Theory]
    [InlineData("not-an-email", "DE", "invalid_email", "is not an email address")]
    [InlineData("billing@acme.test", "UK", "invalid_country", "GB for the United Kingdom")]
    [InlineData("billing@acme.test", "", "address_incomplete", "its first line and its country")]
    public async Task Invalid_details_are_a_400_problem_that_says_what_to_fix_and_nothing_is_saved(string email, string country, string type, string says)
    {
        var (owner, _) = await portal.ConfirmedOwnerAsync();
        using (owner)
        {
            using var refused = await owner.SendBillingAsync(HttpMethod.Put, "/billing/api/billing-details",
                new { email, name = "Acme", address = new { line1 = "Main St 1", country }, command_id = Guid.NewGuid() });

            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
            var problem = await refused.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(type, problem.GetProperty("type").GetString());
            Assert.Contains(says, problem.GetProperty("title").GetString());
            Assert.Equal(JsonValueKind.Null, (await owner.GetFromJsonAsync<JsonElement>("/billing/api/billing-details")).GetProperty("email").ValueKind);
        }
    }

    [Fact]
    public async Task An_admin_reads_the_billing_details_but_changing_them_is_403_for_anyone_but_an_owner()
    {
        var (owner, ownerEmail) = await portal.ConfirmedOwnerAsync();
        var (admin, adminEmail) = await portal.ConfirmedOwnerAsync(); // owns an organisation of their own, too
        using (owner)
        using (admin)
        {
            var tenant = await TenantOfAsync(ownerEmail);
            await portal.Get<TenantService>().AddMemberAsync(tenant.Id, await UserIdOfAsync(adminEmail), adminEmail, MemberRole.Admin, "test");
            Assert.Equal(HttpStatusCode.OK, (await owner.SendBillingAsync(HttpMethod.Put, "/billing/api/billing-details", Acme)).StatusCode);
            admin.DefaultRequestHeaders.Add("X-Lanes-Tenant", tenant.Slug);

            var read = await admin.GetFromJsonAsync<JsonElement>("/billing/api/billing-details");
            using var change = await admin.SendBillingAsync(HttpMethod.Put, "/billing/api/billing-details",
                new { email = "attacker@evil.test", command_id = Guid.NewGuid() });

            Assert.Equal("billing@acme.test", read.GetProperty("email").GetString());
            Assert.Equal(HttpStatusCode.Forbidden, change.StatusCode);
            Assert.Contains("Only an owner", (await change.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
            Assert.Equal("billing@acme.test", (await portal.Get<BillingContactService>().FindAsync(tenant.Id))!.Email);
        }
    }

    [Fact]
    public async Task The_billing_page_shows_an_owner_the_billing_details_form_with_what_was_saved()
    {
        var (owner, _) = await portal.ConfirmedOwnerAsync();
        using (owner)
        {
            Assert.Equal(HttpStatusCode.OK, (await owner.SendBillingAsync(HttpMethod.Put, "/billing/api/billing-details", Acme)).StatusCode);

            var page = await owner.GetStringAsync("/billing");

            Assert.Contains("Billing details", page);
            Assert.Contains("details-save", page);
            Assert.Contains("Friedrichstr. 123", page);
        }
    }

    private async Task<string> UserIdOfAsync(string email)
    {
        await using var scope = portal.Services.CreateAsyncScope();
        return (await scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>().FindByEmailAsync(email))!.Id;
    }

    private async Task<TenantDirectoryEntry> TenantOfAsync(string email) =>
        Assert.Single(await portal.Get<TenantService>().MembershipsOfAsync(await UserIdOfAsync(email))).Tenant;
}
