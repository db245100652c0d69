using Microsoft.EntityFrameworkCore;

namespace Lanes.Portal.Identity;

/// <summary>Turns the user ids events carry into the email addresses people recognise (support timeline).</summary>
public sealed class UserNames(IServiceScopeFactory scopes)
{
    public async Task<IReadOnlyDictionary<string, string>> EmailsOfAsync(IEnumerable<string> userIds, CancellationToken ct = default)
    {
        var ids = userIds.Distinct().ToArray();
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IdentityStore>();
        return await store.Users.Where(u => ids.Contains(u.Id)).ToDictionaryAsync(u => u.Id, u => u.Email ?? u.Id, ct);
    }
}
