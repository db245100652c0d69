using Lanes.Portal.Api.Clients;
using Microsoft.AspNetCore.Authorization;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Lanes.Portal.Api.Auth;

/// <summary>The management client behind an API request, resolved from its access token only.</summary>
public sealed record ManagementCaller(Guid TenantId, string ClientId)
{
    /// <summary>Who a handler acts as in billing's audit fields (<c>CreatedBy</c>, <c>RevokedBy</c>...).</summary>
    public string Actor => $"client:{ClientId}";

    public static ManagementCaller Of(HttpContext http) =>
        http.Items[typeof(ManagementCaller)] as ManagementCaller
        ?? throw new InvalidOperationException("A management API handler ran without an authorised caller.");
}

/// <summary>An endpoint of the management API that needs this scope in the caller's token.</summary>
public sealed record ManagementScopeRequirement(string Scope) : IAuthorizationRequirement;

/// <summary>
/// Admits a token only while its client is active and belongs to the token's tenant, then checks the scope.
/// Note: this database read per request is what stops a revoked or expired client's tokens at once instead of
/// when they expire; the management API is not a hot path.
/// </summary>
public sealed class ManagementScopeHandler(ManagementClientService clients, TimeProvider clock) : AuthorizationHandler<ManagementScopeRequirement>
{
    public const string ClientInactive = "client_inactive";
    public const string InsufficientScope = "insufficient_scope";

    protected override async Task HandleRequirementAsync(AuthorizationHandlerContext context, ManagementScopeRequirement requirement)
    {
        if (context.Resource is not HttpContext http || context.User.Identity?.IsAuthenticated != true)
        {
            return;
        }

        if (http.Items[typeof(ManagementCaller)] is not ManagementCaller caller)
        {
            var clientId = context.User.GetClaim(Claims.Subject);
            var client = clientId is null ? null : await clients.FindAsync(clientId, http.RequestAborted);
            if (client is null || !client.IsActiveAt(clock.GetUtcNow())
                || !Guid.TryParse(context.User.GetClaim(ManagementClaims.Tenant), out var tenantId) || tenantId != client.TenantId)
            {
                context.Fail(new AuthorizationFailureReason(this, ClientInactive));
                return;
            }

            caller = new ManagementCaller(client.TenantId, client.ClientId);
            http.Items[typeof(ManagementCaller)] = caller;
        }

        if (context.User.HasScope(requirement.Scope))
        {
            context.Succeed(requirement);
        }
        else
        {
            context.Fail(new AuthorizationFailureReason(this, InsufficientScope));
        }
    }
}
