using System.Security.Claims;
using Lanes.Billing;
using Lanes.Portal.Identity;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Lanes.Portal.Security;

/// <summary>
/// Who counts as staff. Note: staff reach every tenant, so a staff session needs the staff role and a two-factor
/// sign-in (Identity's <c>amr=mfa</c> claim), and every staff action asks the database again at the moment it runs:
/// a role removed a second ago, or a session signed out everywhere, acts no more.
/// </summary>
public sealed class StaffAccess(IServiceScopeFactory scopes, IOptions<IdentityOptions> identity)
{
    public const string AuthenticationMethod = "amr";
    public const string MultiFactor = "mfa";

    /// <summary>What the session's cookie says (pages use it to decide what to show).</summary>
    public static bool IsStaff(ClaimsPrincipal principal) =>
        principal.IsInRole(Roles.Staff) && principal.HasClaim(AuthenticationMethod, MultiFactor);

    /// <summary>A staff member whose session has not yet proved a second factor (they are sent to set one up).</summary>
    public static bool NeedsSecondFactor(ClaimsPrincipal principal) =>
        principal.IsInRole(Roles.Staff) && !principal.HasClaim(AuthenticationMethod, MultiFactor);

    /// <summary>The staff member's user id, checked against the database now; refuses otherwise.</summary>
    public async Task<string> RequireAsync(ClaimsPrincipal principal)
    {
        // A fresh scope: a circuit's own UserManager would answer from entities it loaded when the page opened.
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>();
        var user = await users.GetUserAsync(principal);
        var stamp = principal.FindFirstValue(identity.Value.ClaimsIdentity.SecurityStampClaimType);
        if (user is null || !IsStaff(principal) || !await users.IsInRoleAsync(user, Roles.Staff) || !await users.GetTwoFactorEnabledAsync(user)
            || stamp != await users.GetSecurityStampAsync(user))
        {
            throw new RuleViolation("not_staff", "This action is for Lanes staff signed in with two factors, and this session is not (any more). Sign in again.");
        }

        return user.Id;
    }
}
