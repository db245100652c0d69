using System.Net;
using Lanes.Portal.Identity;
using Lanes.Portal.Tests.Account;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Security;

[Collection(PortalHosts.Name)]
public class HostHeaderTests(SecuredPortal portal) : IClassFixture<SecuredPortal>
{
    [Fact]
    public async Task A_password_reset_requested_with_a_foreign_host_never_links_anywhere_but_the_portal()
    {
        var email = $"staff-{Guid.NewGuid():N}@lanes.test";
        await StaffAccounts.EnsureAsync(portal.Services, email, "Staff-Password-1");
        var outbox = portal.Services.GetRequiredService<Outbox>();

        // A Host the portal does not serve is refused outright.
        using var attacker = portal.Browser();
        using var foreign = new HttpRequestMessage(HttpMethod.Get, "/Account/ForgotPassword") { Headers = { Host = "attacker.example" } };
        Assert.Equal(HttpStatusCode.BadRequest, (await attacker.SendAsync(foreign)).StatusCode);

        // A Host it does serve, on another port, still gets a link to the configured public URL only.
        attacker.DefaultRequestHeaders.Host = "localhost:6666";
        var requested = await attacker.SubmitAsync("/Account/ForgotPassword", "forgot-password", new() { ["Input.Email"] = email });
        Assert.Equal(HttpStatusCode.Redirect, requested.StatusCode);
        var link = FormSteps.LinkFromOutbox(portal.Services, email);
        Assert.StartsWith($"{SecuredPortal.PublicUrl}/Account/ResetPassword?", link);
        Assert.DoesNotContain(outbox.Messages.Where(m => m.To == email), m => m.HtmlBody.Contains("localhost:6666", StringComparison.Ordinal) || m.HtmlBody.Contains("attacker", StringComparison.Ordinal));
    }
}
