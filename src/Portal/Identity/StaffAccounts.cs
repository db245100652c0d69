using Microsoft.AspNetCore.Identity;

namespace Lanes.Portal.Identity;

public static class StaffAccounts
{
    /// <summary>Creates (or updates the password of) a confirmed staff account. Idempotent.</summary>
    public static async Task<LanesUser> EnsureAsync(IServiceProvider services, string email, string password)
    {
        await IdentityStore.MigrateAsync(services);
        await using var scope = services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>();
        var roles = scope.ServiceProvider.GetRequiredService<RoleManager<IdentityRole>>();
        if (!await roles.RoleExistsAsync(Roles.Staff))
        {
            Check(await roles.CreateAsync(new IdentityRole(Roles.Staff)));
        }

        var user = await users.FindByEmailAsync(email);
        if (user is null)
        {
            user = new LanesUser { UserName = email, Email = email, EmailConfirmed = true, DisplayName = "Lanes staff" };
            Check(await users.CreateAsync(user, password));
        }
        else
        {
            var token = await users.GeneratePasswordResetTokenAsync(user);
            Check(await users.ResetPasswordAsync(user, token, password));
        }

        if (!await users.IsInRoleAsync(user, Roles.Staff))
        {
            Check(await users.AddToRoleAsync(user, Roles.Staff));
        }

        return user;
    }

    /// <summary>Takes the staff role away and changes the security stamp, which ends every session they have.</summary>
    public static async Task<LanesUser> RemoveAsync(IServiceProvider services, string email)
    {
        await using var scope = services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>();
        var user = await users.FindByEmailAsync(email) ?? throw new Billing.NotFound($"User '{email}'");
        if (await users.IsInRoleAsync(user, Roles.Staff))
        {
            Check(await users.RemoveFromRoleAsync(user, Roles.Staff));
        }

        Check(await users.UpdateSecurityStampAsync(user));
        return user;
    }

    private static void Check(IdentityResult result)
    {
        if (!result.Succeeded)
        {
            throw new Billing.RuleViolation("identity", string.Join(" ", result.Errors.Select(e => e.Description)));
        }
    }
}
