namespace Lanes.Billing.Tenants;

public enum MemberRole
{
    Member,
    Admin,
    Owner,
}

public sealed record TenantCreated(Guid TenantId, string Slug, string Name, string CreatedBy, DateTimeOffset CreatedAt);

public sealed record MemberAdded(Guid TenantId, string UserId, string Email, MemberRole Role, string AddedBy, DateTimeOffset AddedAt);

public sealed record MemberRoleChanged(Guid TenantId, string UserId, MemberRole From, MemberRole To, string ChangedBy, DateTimeOffset ChangedAt);

public sealed record MemberRemoved(Guid TenantId, string UserId, string RemovedBy, DateTimeOffset RemovedAt);

public sealed record Member(string UserId, string Email, MemberRole Role);

/// <summary>A customer organisation. Stream id = tenant id; it is also the Marten tenant of everything it owns.</summary>
public sealed record Tenant(Guid Id, string Slug, string Name, DateTimeOffset CreatedAt, IReadOnlyList<Member> Members)
{
    public static Tenant Create(TenantCreated e) => new(e.TenantId, e.Slug, e.Name, e.CreatedAt, []);

    public Tenant Apply(MemberAdded e) => this with { Members = [.. Members, new Member(e.UserId, e.Email, e.Role)] };

    public Tenant Apply(MemberRoleChanged e) =>
        this with { Members = [.. Members.Select(m => m.UserId == e.UserId ? m with { Role = e.To } : m)] };

    public Tenant Apply(MemberRemoved e) => this with { Members = [.. Members.Where(m => m.UserId != e.UserId)] };

    public Member? FindMember(string userId) => Members.FirstOrDefault(m => m.UserId == userId);

    /// <summary>The Marten tenant id under which this tenant's streams and documents are stored.</summary>
    public static string MartenTenantOf(Guid tenantId) => tenantId.ToString("D");
}
