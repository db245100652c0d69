using Lanes.Billing;
using System.Security.Claims;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;
using Microsoft.AspNetCore.Components.Authorization;

namespace Lanes.Portal.Organisations;

/// <summary>The organisation a signed-in person is acting for, and what their role there lets them do.</summary>
public sealed record OrganisationContext(TenantDirectoryEntry Tenant, MemberRole Role, string UserId, string Email, IReadOnlyList<TenantDirectoryEntry> All)
{
    public Guid TenantId => Tenant.Id;

    /// <summary>Admins and owners manage keys, billing and members; members see them.</summary>
    public bool CanManage => Role >= MemberRole.Admin;

    public bool IsOwner => Role == MemberRole.Owner;
}

/// <summary>
/// Resolves the caller's organisation from their memberships. Note: every page that shows tenant data gets its tenant
/// id from here, never from the URL, so a URL naming another tenant's key or usage finds nothing.
/// </summary>
public sealed class OrganisationAccess(IServiceProvider services, TenantService tenants)
{
    public event Action? Changed;

    /// <summary>Makes <paramref name="tenantId"/> the organisation this person's pages open (remembered across
    /// sessions and devices).</summary>
    public async Task SelectAsync(Guid tenantId, CancellationToken ct = default)
    {
        var user = (await services.GetRequiredService<AuthenticationStateProvider>().GetAuthenticationStateAsync()).User;
        if (user.FindFirstValue(ClaimTypes.NameIdentifier) is { } userId)
        {
            await tenants.PreferAsync(userId, tenantId, ct);
            Changed?.Invoke();
        }
    }

    /// <summary>Null when the caller is signed out or belongs to no organisation. <paramref name="slug"/> picks one
    /// of several; without it, the one they chose last; a slug they do not belong to falls back to their first. Read afresh on each
    /// call (no cache for the circuit), so a member removed a moment ago stops seeing the organisation's data.</summary>
    public async Task<OrganisationContext?> CurrentAsync(string? slug = null, CancellationToken ct = default)
    {
        var user = (await services.GetRequiredService<AuthenticationStateProvider>().GetAuthenticationStateAsync()).User;
        return await ForUserAsync(user, slug, ct);
    }

    /// <summary>The same, for endpoints outside Razor components (they have the request's user, not a circuit's).</summary>
    public Task<OrganisationContext?> ForUserAsync(ClaimsPrincipal user, string? slug = null, CancellationToken ct = default) =>
        ResolveAsync(user, slug, exactly: false, ct);

    /// <summary>For APIs: exactly the organisation the request names, or their only one when it names none. Null when
    /// the slug is not one of theirs, or they belong to several and the request does not say which: an API never acts
    /// on an organisation it was not asked to. Note: another tenant's slug looks exactly like one that does not exist.</summary>
    public Task<OrganisationContext?> NamedByRequestAsync(ClaimsPrincipal user, string? slug, CancellationToken ct = default) =>
        ResolveAsync(user, slug, exactly: true, ct);

    private async Task<OrganisationContext?> ResolveAsync(ClaimsPrincipal user, string? slug, bool exactly, CancellationToken ct)
    {
        var userId = user.FindFirstValue(ClaimTypes.NameIdentifier);
        if (userId is null)
        {
            return null;
        }

        var memberships = (await tenants.MembershipsOfAsync(userId, ct)).OrderBy(m => m.Tenant.CreatedAt).ToList();
        if (memberships.Count == 0)
        {
            return null;
        }

        var preferred = slug is null && !exactly ? await tenants.PreferredOfAsync(userId, ct) : null;
        var chosen = memberships.FirstOrDefault(m => m.Tenant.Slug == slug || m.Tenant.Id == preferred);
        if (chosen.Tenant is null && exactly)
        {
            if (slug is not null || memberships.Count > 1)
            {
                return null;
            }

            chosen = memberships[0];
        }
        else if (chosen.Tenant is null)
        {
            chosen = memberships[0];
        }

        return new OrganisationContext(chosen.Tenant, chosen.Role, userId, user.FindFirstValue(ClaimTypes.Email) ?? user.Identity?.Name ?? "",
            [.. memberships.Select(m => m.Tenant)]);
    }

    /// <summary>
    /// Checks, at the moment of an action, that the caller still has at least <paramref name="atLeast"/> in the
    /// tenant. Note: pages decide what to show when they load; a person demoted or removed since must not keep the
    /// powers of an open tab, so every write asks again.
    /// </summary>
    public async Task RequireAsync(Guid tenantId, MemberRole atLeast, CancellationToken ct = default)
    {
        var user = (await services.GetRequiredService<AuthenticationStateProvider>().GetAuthenticationStateAsync()).User;
        var userId = user.FindFirstValue(ClaimTypes.NameIdentifier);
        var membership = userId is null ? default : (await tenants.MembershipsOfAsync(userId, ct)).FirstOrDefault(m => m.Tenant.Id == tenantId);
        if (membership.Tenant is null || membership.Role < atLeast)
        {
            throw new RuleViolation("not_allowed", $"Only an {atLeast.ToString().ToLowerInvariant()} of this organisation may do this, and you are not (any more). Reload the page.");
        }
    }

    public async Task<bool> IsStaffAsync() =>
        Security.StaffAccess.IsStaff((await services.GetRequiredService<AuthenticationStateProvider>().GetAuthenticationStateAsync()).User);
}
