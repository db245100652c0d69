using System.Net;
using System.Security.Claims;
using Lanes.Billing;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;
using Lanes.Portal.Security;
using Lanes.Portal.Tests.Account;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Security;

/// <summary>The smaller holes: headers, antiforgery, the development outbox, staff sessions, the key ring.</summary>
[Collection(PortalHosts.Name)]
public class SessionAndRequestTests(SecuredPortal portal) : IClassFixture<SecuredPortal>
{
    [Theory]
    [InlineData("/")]
    [InlineData("/Account/Login")]
    [InlineData("/billing/api/subscription")]
    public async Task Every_portal_response_carries_the_security_headers(string path)
    {
        using var browser = portal.Browser();
        using var response = await browser.GetAsync(path);

        Assert.Contains("frame-ancestors 'none'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Contains("script-src 'self'", response.Headers.GetValues("Content-Security-Policy").Single());
        Assert.Equal("nosniff", response.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", response.Headers.GetValues("X-Frame-Options").Single());
        Assert.Equal("strict-origin-when-cross-origin", response.Headers.GetValues("Referrer-Policy").Single());
    }

    [Fact]
    public async Task A_cookie_authenticated_billing_post_without_an_antiforgery_token_changes_nothing()
    {
        var (owner, _) = await portal.ConfirmedOwnerAsync();
        using (owner)
        {
            // What a page on another site can make a signed-in owner's browser send.
            using var forged = await owner.PostAsync("/billing/api/cancel", System.Net.Http.Json.JsonContent.Create(new { command_id = Guid.NewGuid() }));
            Assert.Equal(HttpStatusCode.BadRequest, forged.StatusCode);
            Assert.Contains("antiforgery", await forged.Content.ReadAsStringAsync());

            var subscription = await System.Net.Http.Json.HttpClientJsonExtensions.GetFromJsonAsync<System.Text.Json.JsonElement>(owner, "/billing/api/subscription");
            Assert.Equal("Trialing", subscription.GetProperty("status").GetString());
        }
    }

    [Fact]
    public async Task The_development_outbox_of_reset_links_is_refused_to_requests_through_a_proxy()
    {
        using var browser = portal.Browser();
        browser.DefaultRequestHeaders.Add("X-Forwarded-For", "198.51.100.7");

        var page = await browser.GetStringAsync("/dev/outbox").ContinueWith(t => t.IsCompletedSuccessfully ? t.Result : "");
        Assert.DoesNotContain("outbox-message", page);
        Assert.DoesNotContain("ConfirmEmail", page);
    }

    [Fact]
    public async Task Removing_a_staff_member_ends_their_sessions_and_refuses_their_next_action()
    {
        var email = $"staff-{Guid.NewGuid():N}@lanes.test";
        await StaffAccounts.EnsureAsync(portal.Services, email, "Staff-Password-1");
        using var staff = portal.Browser();
        await staff.SignInAsStaffAsync(email, "Staff-Password-1");
        Assert.Equal(HttpStatusCode.OK, (await staff.GetAsync("/hangfire")).StatusCode);

        // The page a staff member has open acts as this principal; after removal it may not act.
        await using var scope = portal.Services.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>();
        var principal = await scope.ServiceProvider.GetRequiredService<SignInManager<LanesUser>>().CreateUserPrincipalAsync((await users.FindByEmailAsync(email))!);
        ((ClaimsIdentity)principal.Identity!).AddClaim(new Claim(StaffAccess.AuthenticationMethod, StaffAccess.MultiFactor));
        await portal.Get<StaffAccess>().RequireAsync(principal);

        await StaffAccounts.RemoveAsync(portal.Services, email);

        Assert.Equal("not_staff", (await Assert.ThrowsAsync<RuleViolation>(() => portal.Get<StaffAccess>().RequireAsync(principal))).Code);
        Assert.NotEqual(HttpStatusCode.OK, (await staff.GetAsync("/hangfire")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await staff.GetAsync("/billing/api/subscription")).StatusCode);
    }

    [Fact]
    public async Task The_data_protection_key_ring_is_stored_encrypted()
    {
        // Any sign-in form creates the key ring if it does not exist yet.
        using var browser = portal.Browser();
        await browser.GetStringAsync("/Account/Login");

        await using var scope = portal.Services.CreateAsyncScope();
        var keys = await scope.ServiceProvider.GetRequiredService<IdentityStore>().DataProtectionKeys.AsNoTracking().ToListAsync();
        Assert.NotEmpty(keys);
        Assert.All(keys, k =>
        {
            Assert.Contains("<encryptedKey", k.Xml);
            Assert.DoesNotContain("<masterKey", k.Xml);
        });
    }
}
