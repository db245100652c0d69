namespace Lanes.Billing.Tenants;

/// <summary>A member's role in a tenant: members see, admins manage keys, billing and members, owners also cancel and
/// change the billing details.</summary>
public enum MemberRole
{
    Member,
    Admin,
    Owner,
}
