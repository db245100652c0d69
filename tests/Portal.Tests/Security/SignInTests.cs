using System.Net;
using Lanes.Portal.Tests.Account;

namespace Lanes.Portal.Tests.Security;

[Collection(PortalHosts.Name)]
public class SignInTests(SecuredPortal portal) : IClassFixture<SecuredPortal>
{
    [Fact]
    public async Task Ten_wrong_passwords_lock_the_account_so_the_right_one_is_refused_too()
    {
        const string password = "Correct-Horse-9";
        var (owner, email) = await portal.ConfirmedOwnerAsync(password);
        owner.Dispose();

        using var attacker = portal.Browser();
        for (var i = 0; i < 10; i++)
        {
            var wrong = await attacker.SignInAsync(email, $"Guess-number-{i}");
            Assert.True(wrong.StatusCode == HttpStatusCode.OK || wrong.Headers.Location?.ToString().Contains("Lockout") == true, $"attempt {i}: {wrong.StatusCode}");
        }

        var right = await attacker.SignInAsync(email, password);
        Assert.Contains("Account/Lockout", right.Headers.Location?.ToString() ?? "(no redirect)");
        Assert.Equal(HttpStatusCode.Unauthorized, (await attacker.GetAsync("/billing/api/subscription")).StatusCode);
    }
}
