using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Authorization.Policy;

namespace Lanes.Portal.Api.Auth;

/// <summary>
/// Refusals of the management API as ProblemDetails with an RFC 6750 <c>WWW-Authenticate</c> header: 401 without a
/// valid token (or for a revoked or expired client), 403 with the scope the endpoint needs. Everything else (pages,
/// the billing API) keeps the default behaviour.
/// </summary>
public sealed class ApiAuthorizationResults : IAuthorizationMiddlewareResultHandler
{
    private readonly AuthorizationMiddlewareResultHandler _default = new();

    public async Task HandleAsync(RequestDelegate next, HttpContext http, AuthorizationPolicy policy, PolicyAuthorizationResult result)
    {
        if (!http.Request.Path.StartsWithSegments(ManagementApi.Prefix) || result.Succeeded)
        {
            await _default.HandleAsync(next, http, policy, result);
            return;
        }

        var reasons = result.AuthorizationFailure?.FailureReasons.Select(r => r.Message).ToList() ?? [];
        var tokenSent = http.Request.Headers.Authorization.Count > 0;
        if (result.Challenged || reasons.Contains(ManagementScopeHandler.ClientInactive))
        {
            var detail = reasons.Contains(ManagementScopeHandler.ClientInactive)
                ? "The management client of this token is revoked or expired."
                : tokenSent ? "The access token is invalid or expired: get a new one from /connect/token." : "Send an access token from /connect/token as 'Authorization: Bearer'.";
            http.Response.Headers.WWWAuthenticate = tokenSent ? "Bearer error=\"invalid_token\"" : "Bearer";
            await Results.Problem(statusCode: StatusCodes.Status401Unauthorized, title: "Unauthorized.", detail: detail, type: "unauthorized").ExecuteAsync(http);
            return;
        }

        var scope = policy.Requirements.OfType<ManagementScopeRequirement>().FirstOrDefault()?.Scope ?? "";
        http.Response.Headers.WWWAuthenticate = $"Bearer error=\"insufficient_scope\", scope=\"{scope}\"";
        await Results.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden.",
            detail: $"This call needs the '{scope}' scope; the client was not granted it, or the token was requested without it.", type: "insufficient_scope").ExecuteAsync(http);
    }
}
