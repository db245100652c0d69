using System.Text.RegularExpressions;

namespace Lanes.Billing.Tenants;

/// <summary>Pure decisions over a tenant's membership.</summary>
public static partial class TenantDecisions
{
    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$")]
    private static partial Regex SlugPattern();

    public static void ValidateNew(string slug, string name)
    {
        if (!SlugPattern().IsMatch(slug))
        {
            throw new RuleViolation("invalid_slug", "A slug is 1-40 lower-case letters, digits or dashes, not starting or ending with a dash.");
        }

        if (string.IsNullOrWhiteSpace(name) || name.Length > 100)
        {
            throw new RuleViolation("invalid_name", "A tenant name is 1-100 characters.");
        }
    }

    public static MemberAdded AddMember(Tenant tenant, string userId, string email, MemberRole role, string by, DateTimeOffset now)
    {
        if (tenant.FindMember(userId) is not null)
        {
            throw new RuleViolation("already_member", $"{email} is already a member of {tenant.Name}.");
        }

        return new MemberAdded(tenant.Id, userId, email, role, by, now);
    }

    /// <summary>Note: decided from both people's roles as they are now, never from what a page showed when it loaded,
    /// so an admin looking at a stale list cannot demote someone who has since become an owner.</summary>
    public static MemberRoleChanged ChangeRole(Tenant tenant, string userId, MemberRole to, string by, DateTimeOffset now)
    {
        var member = tenant.FindMember(userId) ?? throw new NotFound("Member");
        RequireActorOver(tenant, by, member, to, "change the role of");
        if (member.Role == to)
        {
            throw new RuleViolation("same_role", $"{member.Email} is already {Article(to)} {Name(to)}.");
        }

        if (member.Role == MemberRole.Owner && to != MemberRole.Owner && tenant.Members.Count(m => m.Role == MemberRole.Owner) == 1)
        {
            throw new RuleViolation("last_owner", "A tenant keeps at least one owner: make someone else owner first.");
        }

        return new MemberRoleChanged(tenant.Id, userId, member.Role, to, by, now);
    }

    public static MemberRemoved RemoveMember(Tenant tenant, string userId, string by, DateTimeOffset now)
    {
        var member = tenant.FindMember(userId) ?? throw new NotFound("Member");
        if (by != userId)
        {
            RequireActorOver(tenant, by, member, member.Role, "remove");
        }

        if (member.Role == MemberRole.Owner && tenant.Members.Count(m => m.Role == MemberRole.Owner) == 1)
        {
            throw new RuleViolation("last_owner", "A tenant keeps at least one owner: make someone else owner first.");
        }

        return new MemberRemoved(tenant.Id, userId, by, now);
    }

    /// <summary>Admins manage members and admins; only an owner touches an owner or makes one.</summary>
    private static void RequireActorOver(Tenant tenant, string by, Member target, MemberRole to, string action)
    {
        var actor = tenant.FindMember(by);
        if (actor is null || actor.Role < MemberRole.Admin)
        {
            throw new RuleViolation("not_allowed", $"Only an owner or admin of {tenant.Name} may {action} a member.");
        }

        if ((target.Role == MemberRole.Owner || to == MemberRole.Owner) && actor.Role != MemberRole.Owner)
        {
            throw new RuleViolation("not_allowed", $"{target.Email} is {Article(target.Role)} {Name(target.Role)} now; only an owner may {action} an owner or make one. Reload the page.");
        }
    }

    private static string Name(MemberRole role) => role.ToString().ToLowerInvariant();

    private static string Article(MemberRole role) => role == MemberRole.Member ? "a" : "an";

    public static readonly TimeSpan InvitationLifetime = TimeSpan.FromDays(7);

    public static MemberInvited Invite(Tenant tenant, Guid invitationId, string email, MemberRole role, string tokenHash, string by, DateTimeOffset now)
    {
        email = email.Trim();
        if (!System.Net.Mail.MailAddress.TryCreate(email, out var address) || address.Address != email || email.Length > 254)
        {
            throw new RuleViolation("invalid_email", $"'{email}' is not an email address.");
        }

        var inviter = tenant.FindMember(by);
        if (inviter is null || inviter.Role < MemberRole.Admin)
        {
            throw new RuleViolation("not_allowed", "Only an owner or admin invites members.");
        }

        if (role > inviter.Role)
        {
            throw new RuleViolation("not_allowed", $"An {inviter.Role.ToString().ToLowerInvariant()} cannot invite an {role.ToString().ToLowerInvariant()}.");
        }

        if (tenant.Members.Any(m => string.Equals(m.Email, email, StringComparison.OrdinalIgnoreCase)))
        {
            throw new RuleViolation("already_member", $"{email} is already a member of {tenant.Name}.");
        }

        return new MemberInvited(tenant.Id, invitationId, email, role, tokenHash, by, now, now + InvitationLifetime);
    }

    public static InvitationRevoked RevokeInvitation(Tenant tenant, Guid invitationId, string by, DateTimeOffset now)
    {
        _ = tenant.Invitations.FirstOrDefault(i => i.Id == invitationId) ?? throw new NotFound("Invitation");
        return new InvitationRevoked(tenant.Id, invitationId, by, now);
    }

    /// <summary>Note: the invitation names an address; only a signed-in account with that (confirmed) address may
    /// take it, so a forwarded or leaked link does not let someone else in.</summary>
    public static IReadOnlyList<object> Accept(Tenant tenant, string tokenHash, string userId, string email, DateTimeOffset now)
    {
        var invitation = tenant.Invitations.FirstOrDefault(i => i.TokenHash == tokenHash)
            ?? throw new RuleViolation("invitation_invalid", "This invitation link is not valid any more: ask for a new one.");
        if (invitation.ExpiresAt <= now)
        {
            throw new RuleViolation("invitation_expired", "This invitation has expired: ask for a new one.");
        }

        if (!string.Equals(invitation.Email, email, StringComparison.OrdinalIgnoreCase))
        {
            throw new RuleViolation("invitation_other_email", $"This invitation is for {invitation.Email}; sign in with that address to accept it.");
        }

        if (tenant.FindMember(userId) is not null)
        {
            throw new RuleViolation("already_member", $"You are already a member of {tenant.Name}.");
        }

        return [new InvitationAccepted(tenant.Id, invitation.Id, userId, email, now), new MemberAdded(tenant.Id, userId, email, invitation.Role, invitation.InvitedBy, now)];
    }
}
