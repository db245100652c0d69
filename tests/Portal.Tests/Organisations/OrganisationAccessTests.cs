using System.Security.Claims;
using Lanes.Billing;
using Lanes.Billing.Tenants;
using Lanes.Portal.Organisations;
using Lanes.Testing;
using Microsoft.AspNetCore.Components.Authorization;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Organisations;

public class OrganisationAccessTests(BillingHost billing) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task An_admin_demoted_after_the_page_loaded_can_no_longer_act()
    {
        var (owner, admin) = ($"owner-{Guid.NewGuid():N}", $"admin-{Guid.NewGuid():N}");
        var tenants = billing.Get<TenantService>();
        var tenant = await tenants.CreateAsync($"o-{Guid.NewGuid():N}"[..20], "Access", "test", (owner, "owner@access.test"));
        await tenants.AddMemberAsync(tenant.Id, admin, "admin@access.test", MemberRole.Admin, owner);
        var access = AccessFor(admin);

        var loaded = await access.CurrentAsync();
        await access.RequireAsync(tenant.Id, MemberRole.Admin);
        await tenants.ChangeRoleAsync(tenant.Id, admin, MemberRole.Member, owner);

        Assert.True(loaded!.CanManage);
        Assert.Equal("not_allowed", (await Assert.ThrowsAsync<RuleViolation>(() => access.RequireAsync(tenant.Id, MemberRole.Admin))).Code);
        await access.RequireAsync(tenant.Id, MemberRole.Member);

        await tenants.RemoveMemberAsync(tenant.Id, admin, owner);
        await Assert.ThrowsAsync<RuleViolation>(() => access.RequireAsync(tenant.Id, MemberRole.Member));
        Assert.Null(await access.CurrentAsync());
    }

    [Fact]
    public async Task Nobody_acts_in_an_organisation_they_do_not_belong_to()
    {
        var stranger = $"stranger-{Guid.NewGuid():N}";
        var tenant = await billing.Get<TenantService>().CreateAsync($"s-{Guid.NewGuid():N}"[..20], "Theirs", "test", ($"o-{Guid.NewGuid():N}", "o@theirs.test"));

        await Assert.ThrowsAsync<RuleViolation>(() => AccessFor(stranger).RequireAsync(tenant.Id, MemberRole.Member));
    }

    private OrganisationAccess AccessFor(string userId)
    {
        var services = new ServiceCollection()
            .AddSingleton<AuthenticationStateProvider>(new SignedIn(userId))
            .BuildServiceProvider();
        return new OrganisationAccess(services, billing.Get<TenantService>());
    }

    private sealed class SignedIn(string userId) : AuthenticationStateProvider
    {
        public override Task<AuthenticationState> GetAuthenticationStateAsync() =>
            Task.FromResult(new AuthenticationState(new ClaimsPrincipal(new ClaimsIdentity([new Claim(ClaimTypes.NameIdentifier, userId)], "test"))));
    }
}
