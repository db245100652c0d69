using System.Security.Claims;
using Lanes.Portal.Api.Clients;
using Microsoft.AspNetCore;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using OpenIddict.Abstractions;
using OpenIddict.Server.AspNetCore;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Lanes.Portal.Api.Auth;

/// <summary>
/// <c>POST /connect/token</c> for the client-credentials grant. OpenIddict has already checked the client secret,
/// the grant type and that every requested scope is one the client was granted; this adds what OpenIddict does not
/// know: the client's tenant, revocation and expiry.
/// </summary>
public static class TokenEndpoint
{
    public const string Path = "/connect/token";

    public static IEndpointConventionBuilder MapTokenEndpoint(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost(Path, ExchangeAsync).ExcludeFromDescription();

    private static async Task<IResult> ExchangeAsync(HttpContext http, ManagementClientService clients, TimeProvider clock, IOptions<ManagementAuthOptions> options)
    {
        var request = http.GetOpenIddictServerRequest() ?? throw new InvalidOperationException("OpenIddict did not handle the token request.");
        if (!request.IsClientCredentialsGrantType())
        {
            return Refuse(Errors.UnsupportedGrantType, "Only the client_credentials grant is supported.");
        }

        var now = clock.GetUtcNow();
        var client = await clients.FindAsync(request.ClientId ?? "", http.RequestAborted);
        if (client is null || !client.IsActiveAt(now))
        {
            return Refuse(Errors.InvalidClient, "The client is revoked or expired.");
        }

        var identity = new ClaimsIdentity(OpenIddictServerAspNetCoreDefaults.AuthenticationScheme, Claims.Name, Claims.Role);
        identity.SetClaim(Claims.Subject, client.ClientId);
        identity.SetClaim(Claims.Name, client.Name);
        identity.SetClaim(ManagementClaims.Tenant, client.TenantId.ToString("D"));
        var requested = request.GetScopes();
        // No scope asked for: every scope the client holds, so a script needs only its id and secret.
        identity.SetScopes(requested.IsEmpty ? client.Scopes : requested.Where(client.Scopes.Contains));
        identity.SetDestinations(_ => [Destinations.AccessToken]);

        var principal = new ClaimsPrincipal(identity);
        // A token never outlives its client.
        if (client.ExpiresAt is { } expires && expires - now < options.Value.AccessTokenLifetime)
        {
            principal.SetAccessTokenLifetime(expires - now);
        }

        return Results.SignIn(principal, authenticationScheme: OpenIddictServerAspNetCoreDefaults.AuthenticationScheme);
    }

    private static IResult Refuse(string error, string description) =>
        Results.Forbid(new AuthenticationProperties(new Dictionary<string, string?>
        {
            [OpenIddictServerAspNetCoreConstants.Properties.Error] = error,
            [OpenIddictServerAspNetCoreConstants.Properties.ErrorDescription] = description,
        }), [OpenIddictServerAspNetCoreDefaults.AuthenticationScheme]);
}
