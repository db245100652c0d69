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

    [Fact]
    public void An_admin_acting_on_a_stale_page_cannot_demote_or_remove_someone_who_became_an_owner()
    {
        // u2 was an admin when u3 (an admin) loaded the team page; u1 has since made u2 an owner.
        var tenant = WithOwner()
            .Apply(new MemberAdded(Guid.Empty, "u2", "two@acme.test", MemberRole.Admin, "u1", Now))
            .Apply(new MemberAdded(Guid.Empty, "u3", "three@acme.test", MemberRole.Admin, "u1", Now));
        tenant = tenant.Apply(TenantDecisions.ChangeRole(tenant, "u2", MemberRole.Owner, "u1", Now));

        Assert.Equal("not_allowed", Assert.Throws<RuleViolation>(() => TenantDecisions.ChangeRole(tenant, "u2", MemberRole.Member, "u3", Now)).Code);
        Assert.Equal("not_allowed", Assert.Throws<RuleViolation>(() => TenantDecisions.RemoveMember(tenant, "u2", "u3", Now)).Code);
        Assert.Equal("not_allowed", Assert.Throws<RuleViolation>(() => TenantDecisions.ChangeRole(tenant, "u3", MemberRole.Owner, "u3", Now)).Code);

        // Between admins and members an admin still decides; a member decides nothing.
        var demoted = tenant.Apply(TenantDecisions.ChangeRole(tenant, "u3", MemberRole.Member, "u3", Now));
        Assert.Equal("not_allowed", Assert.Throws<RuleViolation>(() => TenantDecisions.ChangeRole(demoted, "u3", MemberRole.Admin, "u3", Now)).Code);
        Assert.Equal(MemberRole.Admin, demoted.Apply(TenantDecisions.ChangeRole(demoted, "u2", MemberRole.Admin, "u1", Now)).FindMember("u2")!.Role);
    }

    [Fact]
    public void An_invitation_is_taken_only_by_the_invited_address_before_it_expires()
    {
        var invited = TenantDecisions.Invite(WithOwner(), Guid.NewGuid(), "dev@acme.test", MemberRole.Admin, "hash", "u1", Now);
        var tenant = WithOwner().Apply(invited);

        Assert.Equal("invitation_other_email", Assert.Throws<RuleViolation>(() => TenantDecisions.Accept(tenant, "hash", "u2", "someone@else.test", Now)).Code);
        Assert.Equal("invitation_invalid", Assert.Throws<RuleViolation>(() => TenantDecisions.Accept(tenant, "other-hash", "u2", "dev@acme.test", Now)).Code);
        Assert.Equal("invitation_expired", Assert.Throws<RuleViolation>(() => TenantDecisions.Accept(tenant, "hash", "u2", "dev@acme.test", invited.ExpiresAt)).Code);

        var accepted = TenantDecisions.Accept(tenant, "hash", "u2", "DEV@acme.test", Now.AddDays(1));
        var member = Assert.IsType<MemberAdded>(accepted[1]);
        Assert.Equal(("u2", MemberRole.Admin), (member.UserId, member.Role));
        Assert.Empty(tenant.Apply((InvitationAccepted)accepted[0]).Invitations);
    }

    [Theory]
    [InlineData(MemberRole.Member, MemberRole.Member, "not_allowed")]
    [InlineData(MemberRole.Admin, MemberRole.Owner, "not_allowed")]
    [InlineData(MemberRole.Admin, MemberRole.Admin, null)]
    [InlineData(MemberRole.Owner, MemberRole.Owner, null)]
    public void Nobody_invites_above_their_own_role_and_members_do_not_invite(MemberRole inviter, MemberRole role, string? refusal)
    {
        var tenant = WithOwner().Apply(new MemberAdded(Guid.Empty, "u9", "x@acme.test", inviter, "u1", Now));

        var act = () => TenantDecisions.Invite(tenant, Guid.NewGuid(), "new@acme.test", role, "hash", "u9", Now);

        if (refusal is null)
        {
            Assert.Equal(role, act().Role);
        }
        else
        {
            Assert.Equal(refusal, Assert.Throws<RuleViolation>(act).Code);
        }
    }

    [Theory]
    [InlineData("not an email")]
    [InlineData("owner@acme.test")]
    public void Invitations_need_an_email_address_of_someone_not_yet_a_member(string email)
    {
        Assert.Throws<RuleViolation>(() => TenantDecisions.Invite(WithOwner(), Guid.NewGuid(), email, MemberRole.Member, "hash", "u1", Now));
    }

    [Fact]
    public void A_new_invitation_to_the_same_address_replaces_the_old_link()
    {
        var first = TenantDecisions.Invite(WithOwner(), Guid.NewGuid(), "dev@acme.test", MemberRole.Member, "h1", "u1", Now);
        var second = TenantDecisions.Invite(WithOwner(), Guid.NewGuid(), "dev@acme.test", MemberRole.Admin, "h2", "u1", Now);

        var tenant = WithOwner().Apply(first).Apply(second);

        Assert.Equal("h2", Assert.Single(tenant.Invitations).TokenHash);
    }
}
