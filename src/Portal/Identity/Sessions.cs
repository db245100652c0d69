using Microsoft.AspNetCore.Identity;

namespace Lanes.Portal.Identity;

/// <summary>Ends every session of a person by changing their security stamp: cookies and open tabs are checked
/// against it (<c>Portal:SessionRevalidation</c>), so someone removed from an organisation or from staff is signed
/// out everywhere, not only refused at their next action.</summary>
public sealed class Sessions(IServiceScopeFactory scopes)
{
    public async Task EndAllAsync(string userId)
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>();
        if (await users.FindByIdAsync(userId) is { } user)
        {
            await users.UpdateSecurityStampAsync(user);
        }
    }
}
