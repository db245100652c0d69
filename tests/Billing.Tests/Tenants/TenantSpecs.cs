using Lanes.Billing.Tenants;

namespace Lanes.Billing.Tests.Tenants;

public class TenantSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);

    private static Tenant WithOwner() =>
        Tenant.Create(new TenantCreated(Guid.NewGuid(), "acme", "Acme", "u1", Now))
            .Apply(new MemberAdded(Guid.Empty, "u1", "owner@acme.test", MemberRole.Owner, "u1", Now));

    [Theory]
    [InlineData("acme")]
    [InlineData("acme-2")]
    [InlineData("a")]
    public void Simple_slugs_are_accepted(string slug) => TenantDecisions.ValidateNew(slug, "Acme");

    [Theory]
    [InlineData("Acme")]
    [InlineData("-acme")]
    [InlineData("acme-")]
    [InlineData("ac me")]
    [InlineData("")]
    public void Slugs_that_do_not_fit_a_url_are_refused(string slug)
    {
        Assert.Equal("invalid_slug", Assert.Throws<RuleViolation>(() => TenantDecisions.ValidateNew(slug, "Acme")).Code);
    }

    [Fact]
    public void A_tenant_keeps_its_last_owner()
    {
        var tenant = WithOwner();

        Assert.Equal("last_owner", Assert.Throws<RuleViolation>(() => TenantDecisions.ChangeRole(tenant, "u1", MemberRole.Admin, "u1", Now)).Code);
        Assert.Equal("last_owner", Assert.Throws<RuleViolation>(() => TenantDecisions.RemoveMember(tenant, "u1", "u1", Now)).Code);
    }

    [Fact]
    public void Members_are_added_once_and_their_role_can_change()
    {
        var tenant = WithOwner().Apply(TenantDecisions.AddMember(WithOwner(), "u2", "dev@acme.test", MemberRole.Member, "u1", Now));

        Assert.Equal("already_member", Assert.Throws<RuleViolation>(() => TenantDecisions.AddMember(tenant, "u2", "dev@acme.test", MemberRole.Admin, "u1", Now)).Code);
        var promoted = tenant.Apply(TenantDecisions.ChangeRole(tenant, "u2", MemberRole.Admin, "u1", Now));
        Assert.Equal(MemberRole.Admin, promoted.FindMember("u2")!.Role);
    }
}
