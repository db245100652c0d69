using System.Net;
using System.Text.RegularExpressions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Api.Clients;
using Lanes.Portal.Identity;
using Lanes.Testing;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Api;

/// <summary>The "API clients" page as owners and plain members see it (server-rendered, signed in through the form).</summary>
[Collection(PortalHosts.Name)]
public partial class ManagementClientsPageTests(AppFactory<Program> portal) : IClassFixture<AppFactory<Program>>
{
    [Fact]
    public async Task An_owner_sees_the_tenants_clients_and_a_member_is_told_who_manages_them()
    {
        var owner = await UserAsync();
        var member = await UserAsync();
        var tenants = portal.Services.GetRequiredService<TenantService>();
        var tenant = await tenants.CreateAsync($"t-{Guid.NewGuid():N}"[..20], "Page Org", "test", (owner.Id, owner.Email!));
        await tenants.AddMemberAsync(tenant.Id, member.Id, member.Email!, MemberRole.Member, "test");
        await portal.Services.GetRequiredService<ManagementClientService>().CreateAsync(tenant.Id, new ClientRequest("nightly-export", [ManagementScopes.UsageRead]), owner.Id);

        var asOwner = await (await SignInAsync(owner.Email!)).GetStringAsync("/api-clients");
        Assert.Contains("nightly-export", asOwner);
        Assert.Contains("usage:read", asOwner);
        Assert.Contains("Create client", asOwner);

        var asMember = await (await SignInAsync(member.Email!)).GetStringAsync("/api-clients");
        Assert.Contains("Only owners and admins of Page Org manage API clients.", asMember);
        Assert.DoesNotContain("nightly-export", asMember);

        using var anonymous = portal.CreateClient(new() { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.Redirect, (await anonymous.GetAsync("/api-clients")).StatusCode);
    }

    private async Task<LanesUser> UserAsync()
    {
        using var scope = portal.Services.CreateScope();
        var email = $"u-{Guid.NewGuid():N}@page.test";
        var user = new LanesUser { UserName = email, Email = email, EmailConfirmed = true };
        var created = await scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>().CreateAsync(user, Password);
        Assert.True(created.Succeeded);
        return user;
    }

    private const string Password = "Correct-Horse-9";

    private async Task<HttpClient> SignInAsync(string email)
    {
        var browser = portal.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = true });
        var page = await browser.GetStringAsync("/Account/Login");
        var token = WebUtility.HtmlDecode(TokenPattern().Match(page).Groups[1].Value);
        var signedIn = await browser.PostAsync("/Account/Login", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["Input.Email"] = email, ["Input.Password"] = Password, ["_handler"] = "login", ["__RequestVerificationToken"] = token,
        }));
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);
        return browser;
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();
}
