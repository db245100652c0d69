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

    public static MemberRoleChanged ChangeRole(Tenant tenant, string userId, MemberRole to, string by, DateTimeOffset now)
    {
        var member = tenant.FindMember(userId) ?? throw new NotFound("Member");
        if (member.Role == MemberRole.Owner && to != MemberRole.Owner && tenant.Members.Count(m => m.Role == MemberRole.Owner) == 1)
        {
            throw new RuleViolation("last_owner", "A tenant keeps at least one owner: make someone else owner first.");
        }

        return new MemberRoleChanged(tenant.Id, userId, member.Role, to, by, now);
    }

    public static MemberRemoved RemoveMember(Tenant tenant, string userId, string by, DateTimeOffset now)
    {
        var member = tenant.FindMember(userId) ?? throw new NotFound("Member");
        if (member.Role == MemberRole.Owner && tenant.Members.Count(m => m.Role == MemberRole.Owner) == 1)
        {
            throw new RuleViolation("last_owner", "A tenant keeps at least one owner: make someone else owner first.");
        }

        return new MemberRemoved(tenant.Id, userId, by, now);
    }
}
