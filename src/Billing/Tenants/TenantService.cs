using System.Security.Cryptography;
using System.Text;
using Lanes.Billing.Infrastructure;
using Marten;

namespace Lanes.Billing.Tenants;

/// <summary>Creates tenants and manages their members. Each tenant's data lives under its own Marten tenant id.</summary>
public sealed class TenantService(IDocumentStore store, TimeProvider clock)
{
    /// <summary>Creates a tenant, optionally with its first owner, atomically with its directory entry.</summary>
    public Task<Tenant> CreateAsync(string slug, string name, string createdBy, (string UserId, string Email)? owner = null, CancellationToken ct = default) =>
        CreateAsync(slug, name, createdBy, owner, alongside: null, ct);

    /// <summary>Creates the tenant, and with <paramref name="alongside"/> whatever must exist with it (its
    /// subscription) in the same transaction: either all of it is saved or none.</summary>
    public async Task<Tenant> CreateAsync(
        string slug, string name, string createdBy, (string UserId, string Email)? owner, Func<IDocumentSession, Guid, Task>? alongside, CancellationToken ct = default)
    {
        slug = slug.Trim().ToLowerInvariant();
        name = name.Trim();
        TenantDecisions.ValidateNew(slug, name);
        var now = clock.GetUtcNow();
        var tenantId = Guid.CreateVersion7(now);

        var created = new TenantCreated(tenantId, slug, name, createdBy, now);
        var events = new List<object> { created };
        if (owner is { } o)
        {
            events.Add(new MemberAdded(tenantId, o.UserId, o.Email, MemberRole.Owner, createdBy, now));
        }

        await using var session = store.LightweightSession(Tenant.MartenTenantOf(tenantId));
        await session.BeginTransactionAsync(ct);
        session.Insert(new TenantDirectoryEntry(tenantId, slug, name, now));
        session.Events.StartStream<Tenant>(tenantId, events);

        // Said first, before anything staged alongside is refused for another reason; the unique index below still
        // decides a race between two creators.
        if (await session.Query<TenantDirectoryEntry>().AnyAsync(t => t.Slug == slug, ct))
        {
            throw new RuleViolation("slug_taken", $"The slug '{slug}' is already taken.");
        }

        if (alongside is not null)
        {
            await alongside(session, tenantId);
        }

        try
        {
            await session.SaveChangesAsync(ct);
        }
        catch (Exception e) when (Conflicts.IsUniqueViolation(e))
        {
            throw new RuleViolation("slug_taken", $"The slug '{slug}' is already taken.");
        }

        return events.Skip(1).Cast<MemberAdded>().Aggregate(Tenant.Create(created), (t, m) => t.Apply(m));
    }

    public async Task<TenantDirectoryEntry?> FindBySlugAsync(string slug, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        var normalised = slug.Trim().ToLowerInvariant();
        return await query.Query<TenantDirectoryEntry>().FirstOrDefaultAsync(t => t.Slug == normalised, ct);
    }

    public async Task<TenantDirectoryEntry> GetBySlugAsync(string slug, CancellationToken ct = default) =>
        await FindBySlugAsync(slug, ct) ?? throw new NotFound($"Tenant '{slug}'");

    /// <summary>Every tenant, for operators and the support console.</summary>
    public async Task<IReadOnlyList<TenantDirectoryEntry>> ListAcrossTenantsAsync(CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        return await query.Query<TenantDirectoryEntry>().OrderBy(t => t.Slug).ToListAsync(ct);
    }

    public async Task<Tenant?> FindAsync(Guid tenantId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await query.LoadAsync<Tenant>(tenantId, ct);
    }

    /// <summary>The tenants a user belongs to, found through the global directory.</summary>
    public async Task<IReadOnlyList<(TenantDirectoryEntry Tenant, MemberRole Role)>> MembershipsOfAsync(string userId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        var tenants = await query.Query<Tenant>()
            .Where(t => t.AnyTenant() && t.Members.Any(m => m.UserId == userId))
            .ToListAsync(ct);
        var ids = tenants.Select(t => t.Id).ToArray();
        var directory = (await query.Query<TenantDirectoryEntry>().Where(d => d.Id.IsOneOf(ids)).ToListAsync(ct)).ToDictionary(d => d.Id);
        return tenants
            .Where(t => directory.ContainsKey(t.Id))
            .Select(t => (directory[t.Id], t.FindMember(userId)!.Role))
            .ToList();
    }

    /// <summary>Remembers the organisation a person works in; only one they belong to is accepted.</summary>
    public async Task PreferAsync(string userId, Guid tenantId, CancellationToken ct = default)
    {
        if ((await FindAsync(tenantId, ct))?.FindMember(userId) is null)
        {
            throw new NotFound("Tenant");
        }

        await using var session = store.LightweightSession();
        session.Store(new PreferredTenant(userId, tenantId, clock.GetUtcNow()));
        await session.SaveChangesAsync(ct);
    }

    public async Task<Guid?> PreferredOfAsync(string userId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        return (await query.LoadAsync<PreferredTenant>(userId, ct))?.TenantId;
    }

    public Task AddMemberAsync(Guid tenantId, string userId, string email, MemberRole role, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, t => TenantDecisions.AddMember(t, userId, email, role, by, clock.GetUtcNow()), ct);

    public Task ChangeRoleAsync(Guid tenantId, string userId, MemberRole role, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, t => TenantDecisions.ChangeRole(t, userId, role, by, clock.GetUtcNow()), ct);

    public Task RemoveMemberAsync(Guid tenantId, string userId, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, t => TenantDecisions.RemoveMember(t, userId, by, clock.GetUtcNow()), ct);

    /// <summary>Invites an address; returns the token for the link, which is not stored (only its hash is).</summary>
    public async Task<(Invitation Invitation, string Token)> InviteAsync(Guid tenantId, string email, MemberRole role, string by, CancellationToken ct = default)
    {
        var token = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
        var invited = (MemberInvited)await WriteAsync(tenantId, t => TenantDecisions.Invite(t, Guid.CreateVersion7(clock.GetUtcNow()), email, role, HashOf(token), by, clock.GetUtcNow()), ct);
        return (new Invitation(invited.InvitationId, invited.Email, invited.Role, invited.TokenHash, by, invited.InvitedAt, invited.ExpiresAt), token);
    }

    public Task RevokeInvitationAsync(Guid tenantId, Guid invitationId, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, t => TenantDecisions.RevokeInvitation(t, invitationId, by, clock.GetUtcNow()), ct);

    /// <summary>The tenant and invitation a link's token opens, searched across tenants by the token's hash.</summary>
    public async Task<(Tenant Tenant, Invitation Invitation)?> FindInvitationAsync(string token, CancellationToken ct = default)
    {
        var hash = HashOf(token);
        await using var query = store.QuerySession();
        var tenant = await query.Query<Tenant>().Where(t => t.AnyTenant() && t.Invitations.Any(i => i.TokenHash == hash)).FirstOrDefaultAsync(ct);
        return tenant is null ? null : (tenant, tenant.Invitations.First(i => i.TokenHash == hash));
    }

    public async Task<Tenant> AcceptInvitationAsync(string token, string userId, string email, CancellationToken ct = default)
    {
        var found = await FindInvitationAsync(token, ct) ?? throw new RuleViolation("invitation_invalid", "This invitation link is not valid any more: ask for a new one.");
        await using var session = store.LightweightSession(Tenant.MartenTenantOf(found.Tenant.Id));
        var stream = await session.Events.FetchForWriting<Tenant>(found.Tenant.Id, ct);
        var events = TenantDecisions.Accept(stream.Aggregate!, HashOf(token), userId, email, clock.GetUtcNow());
        stream.AppendMany(events);
        await session.SaveChangesAsync(ct);
        return events.Aggregate(stream.Aggregate!, (t, e) => e switch
        {
            InvitationAccepted a => t.Apply(a),
            MemberAdded m => t.Apply(m),
            _ => t,
        });
    }

    private static string HashOf(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));

    private async Task<object> WriteAsync(Guid tenantId, Func<Tenant, object> decide, CancellationToken ct)
    {
        await using var session = store.LightweightSession(Tenant.MartenTenantOf(tenantId));
        var stream = await session.Events.FetchForWriting<Tenant>(tenantId, ct);
        var tenant = stream.Aggregate ?? throw new NotFound("Tenant");
        var e = decide(tenant);
        stream.AppendOne(e);
        await session.SaveChangesAsync(ct);
        return e;
    }
}
