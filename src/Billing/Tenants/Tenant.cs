namespace Lanes.Billing.Tenants;

public sealed record TenantCreated(Guid TenantId, string Slug, string Name, string CreatedBy, DateTimeOffset CreatedAt);

public sealed record MemberAdded(Guid TenantId, string UserId, string Email, MemberRole Role, string AddedBy, DateTimeOffset AddedAt);

public sealed record MemberRoleChanged(Guid TenantId, string UserId, MemberRole From, MemberRole To, string ChangedBy, DateTimeOffset ChangedAt);

public sealed record MemberRemoved(Guid TenantId, string UserId, string RemovedBy, DateTimeOffset RemovedAt);

public sealed record Member(string UserId, string Email, MemberRole Role);

/// <summary>An invitation waiting to be accepted. Only a hash of its token is kept: the link is in the email alone.</summary>
public sealed record Invitation(Guid Id, string Email, MemberRole Role, string TokenHash, string InvitedBy, DateTimeOffset InvitedAt, DateTimeOffset ExpiresAt);

public sealed record MemberInvited(Guid TenantId, Guid InvitationId, string Email, MemberRole Role, string TokenHash, string InvitedBy, DateTimeOffset InvitedAt, DateTimeOffset ExpiresAt);

public sealed record InvitationRevoked(Guid TenantId, Guid InvitationId, string RevokedBy, DateTimeOffset RevokedAt);

public sealed record InvitationAccepted(Guid TenantId, Guid InvitationId, string UserId, string Email, DateTimeOffset AcceptedAt);

/// <summary>A customer organisation. Stream id = tenant id; it is also the Marten tenant of everything it owns.</summary>
public sealed record Tenant(Guid Id, string Slug, string Name, DateTimeOffset CreatedAt, IReadOnlyList<Member> Members)
{
    public IReadOnlyList<Invitation> Invitations { get; init; } = [];

    public static Tenant Create(TenantCreated e) => new(e.TenantId, e.Slug, e.Name, e.CreatedAt, []);

    public Tenant Apply(MemberAdded e) => this with { Members = [.. Members, new Member(e.UserId, e.Email, e.Role)] };

    public Tenant Apply(MemberRoleChanged e) =>
        this with { Members = [.. Members.Select(m => m.UserId == e.UserId ? m with { Role = e.To } : m)] };

    public Tenant Apply(MemberRemoved e) => this with { Members = [.. Members.Where(m => m.UserId != e.UserId)] };

    public Tenant Apply(MemberInvited e) => this with
    {
        // A new invitation to the same address replaces the old one (and its link).
        Invitations = [.. Invitations.Where(i => !string.Equals(i.Email, e.Email, StringComparison.OrdinalIgnoreCase)),
            new Invitation(e.InvitationId, e.Email, e.Role, e.TokenHash, e.InvitedBy, e.InvitedAt, e.ExpiresAt)],
    };

    public Tenant Apply(InvitationRevoked e) => this with { Invitations = [.. Invitations.Where(i => i.Id != e.InvitationId)] };

    public Tenant Apply(InvitationAccepted e) => this with { Invitations = [.. Invitations.Where(i => i.Id != e.InvitationId)] };

    public Member? FindMember(string userId) => Members.FirstOrDefault(m => m.UserId == userId);

    /// <summary>The Marten tenant id under which this tenant's streams and documents are stored.</summary>
    public static string MartenTenantOf(Guid tenantId) => tenantId.ToString("D");
}
