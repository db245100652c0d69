using System.Security.Claims;
using Bunit;
using Lanes.Billing.BillingDetails;
using Lanes.Billing.Tenants;
using Lanes.Portal.Components.Pages.Billing;
using Lanes.Portal.Organisations;
using Lanes.Testing;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Billing;

/// <summary>The billing details form on the billing page, rendered against billing on a real database.</summary>
public class BillingDetailsFormTests(BillingHost billing) : IClassFixture<BillingHost>
{
    private async Task<(BunitContext Context, OrganisationContext Organisation)> SignedInAsync(MemberRole role)
    {
        var (owner, other) = ($"owner-{Guid.NewGuid():N}", $"user-{Guid.NewGuid():N}");
        var tenants = billing.Get<TenantService>();
        var tenant = await tenants.CreateAsync($"f-{Guid.NewGuid():N}"[..20], "Acme", "test", (owner, "owner@acme.test"));
        var userId = role == MemberRole.Owner ? owner : other;
        if (role != MemberRole.Owner)
        {
            await tenants.AddMemberAsync(tenant.Id, other, "dev@acme.test", role, owner);
        }

        var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        ctx.Services.AddSingleton(billing.Get<BillingContactService>());
        ctx.Services.AddSingleton<TimeProvider>(billing.Clock);
        ctx.Services.AddSingleton<AuthenticationStateProvider>(new SignedIn(userId));
        ctx.Services.AddSingleton(sp => new OrganisationAccess(sp, tenants));
        var entry = (await tenants.FindBySlugAsync(tenant.Slug))!;
        return (ctx, new OrganisationContext(entry, role, userId, "someone@acme.test", [entry]));
    }

    [Fact]
    public async Task An_owner_is_shown_what_is_wrong_and_nothing_is_saved_then_valid_details_are_saved()
    {
        var (ctx, org) = await SignedInAsync(MemberRole.Owner);
        await using var _ = ctx;
        var form = ctx.Render<BillingDetailsForm>(p => p.Add(f => f.Organisation, org));
        form.WaitForElement(".details-save");

        form.Find(".details-email input").Change("billing at acme");
        form.Find("button.details-save").Click();
        form.WaitForAssertion(() => Assert.Contains("is not an email address", form.Find(".details-email").TextContent));

        form.Find(".details-email input").Change("billing@acme.test");
        form.Find(".details-line1 input").Change("10 Downing St");
        form.Find(".details-country input").Change("UK");
        form.Find("button.details-save").Click();
        form.WaitForAssertion(() => Assert.Contains("GB for the United Kingdom", form.Find(".details-country").TextContent));

        form.Find(".details-city input").Change("London");
        form.Find(".details-line1 input").Change("");
        form.Find(".details-country input").Change("gb");
        form.Find("button.details-save").Click();
        form.WaitForAssertion(() => Assert.Contains("first line and its country", form.Find(".details-error").TextContent));
        Assert.Null(await billing.Get<BillingContactService>().FindAsync(org.TenantId));

        form.Find(".details-line1 input").Change("10 Downing St");
        form.Find("button.details-save").Click();

        form.WaitForAssertion(() => Assert.NotNull(form.Find(".details-updated")));
        Assert.Empty(form.FindAll(".details-error"));
        var saved = await billing.Get<BillingContactService>().FindAsync(org.TenantId);
        Assert.Equal(("billing@acme.test", "10 Downing St", "London", "GB", org.UserId),
            (saved!.Email, saved.Address!.Line1, saved.Address.City, saved.Address.Country, saved.UpdatedBy));
        Assert.Equal("GB", form.Find(".details-country input").GetAttribute("value"));
    }

    [Theory]
    [InlineData(MemberRole.Admin)]
    [InlineData(MemberRole.Member)]
    public async Task Everyone_but_an_owner_sees_the_details_read_only_and_who_can_change_them(MemberRole role)
    {
        var (ctx, org) = await SignedInAsync(role);
        await using var _ = ctx;
        await billing.Get<BillingContactService>().UpdateAsync(org.TenantId,
            new BillingDetailsCommand(null, "Acme Ltd", new BillingAddressInput("1 Main St", null, "Leeds", "LS1 1AA", null, "GB")), "owner");

        var form = ctx.Render<BillingDetailsForm>(p => p.Add(f => f.Organisation, org));

        form.WaitForAssertion(() => Assert.Contains("1 Main St, LS1 1AA, Leeds, GB", form.Find(".details-address").TextContent));
        Assert.Contains("billing emails go to the owners", form.Find(".details-email").TextContent);
        Assert.Contains("Only an owner of Acme", form.Find(".billing-details-owners-only").TextContent);
        Assert.Empty(form.FindAll("input"));
        Assert.Empty(form.FindAll(".details-save"));
    }

    private sealed class SignedIn(string userId) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() =>
            Task.FromResult(new AuthenticationState(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, userId)], "test"))));
    }
}
