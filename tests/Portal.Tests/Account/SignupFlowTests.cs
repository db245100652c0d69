using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lanes.Portal.Identity;
using Lanes.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Account;

/// <summary>Sign-up through the real forms over HTTP: organisation and trial created, email confirmed from the
/// outbox, sign-in, then the organisation's billing API as that user.</summary>
[Collection(PortalHosts.Name)]
public partial class SignupFlowTests(AppFactory<Program> portal) : IClassFixture<AppFactory<Program>>
{
    [Fact]
    public async Task Signing_up_creates_the_organisation_on_a_trial_and_confirming_email_allows_sign_in()
    {
        var email = $"owner-{Guid.NewGuid():N}@acme.test";
        using var browser = portal.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = true });

        var registered = await SubmitAsync(browser, "/Account/Register", "register", new()
        {
            ["Input.Organisation"] = "Acme Rockets",
            ["Input.Email"] = email,
            ["Input.Password"] = "Correct-Horse-9",
            ["Input.ConfirmPassword"] = "Correct-Horse-9",
        });
        Assert.Equal(HttpStatusCode.Redirect, registered.StatusCode);
        Assert.Contains("RegisterConfirmation", registered.Headers.Location!.ToString());

        // Unconfirmed: sign-in is refused.
        var early = await SubmitAsync(browser, "/Account/Login", "login", new() { ["Input.Email"] = email, ["Input.Password"] = "Correct-Horse-9" });
        Assert.Contains("Error: Invalid login attempt.", await early.Content.ReadAsStringAsync());

        // The confirmation link is in the development outbox.
        var message = portal.Services.GetRequiredService<Outbox>().Messages.First(m => m.To == email);
        var link = WebUtility.HtmlDecode(LinkPattern().Match(message.HtmlBody).Groups[1].Value);
        var confirmed = await browser.GetAsync(new Uri(link).PathAndQuery);
        Assert.Contains("Thank you for confirming your email", await confirmed.Content.ReadAsStringAsync());

        var signedIn = await SubmitAsync(browser, "/Account/Login", "login", new() { ["Input.Email"] = email, ["Input.Password"] = "Correct-Horse-9" });
        Assert.Equal(HttpStatusCode.Redirect, signedIn.StatusCode);

        var subscription = await browser.GetFromJsonAsync<JsonElement>("/billing/api/subscription");
        Assert.Equal(("internal", "starter", "Trialing", 2), (
            subscription.GetProperty("mode").GetString(), subscription.GetProperty("plan").GetString(),
            subscription.GetProperty("status").GetString(), subscription.GetProperty("reserved_lanes").GetInt32()));

        // A second trial for the same organisation is refused with a reason.
        var again = await browser.PostBillingAsync("/billing/api/trial");
        Assert.Equal(HttpStatusCode.BadRequest, again.StatusCode);
        Assert.Contains("already had a subscription", await again.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Staff_open_the_jobs_dashboard_only_after_a_two_factor_sign_in_and_a_customer_cannot()
    {
        var staffEmail = $"staff-{Guid.NewGuid():N}@lanes.test";
        await StaffAccounts.EnsureAsync(portal.Services, staffEmail, "Staff-Password-1");
        using var staff = portal.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = true });
        var passwordOnly = await staff.SignInAsync(staffEmail, "Staff-Password-1");
        Assert.Contains("EnableAuthenticator", passwordOnly.Headers.Location!.ToString());
        Assert.NotEqual(HttpStatusCode.OK, (await staff.GetAsync("/hangfire")).StatusCode);

        await staff.EnableAuthenticatorAsync();
        Assert.Equal(HttpStatusCode.OK, (await staff.GetAsync("/hangfire")).StatusCode);
        using var anonymous = portal.CreateClient(new() { AllowAutoRedirect = false });
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/hangfire")).StatusCode);
    }

    [Fact]
    public async Task Invalid_sign_up_input_shows_messages_and_creates_nothing()
    {
        var email = $"bad-{Guid.NewGuid():N}@acme.test";
        using var browser = portal.CreateClient(new() { AllowAutoRedirect = false, HandleCookies = true });

        var response = await SubmitAsync(browser, "/Account/Register", "register", new()
        {
            ["Input.Organisation"] = "",
            ["Input.Email"] = email,
            ["Input.Password"] = "short",
            ["Input.ConfirmPassword"] = "different",
        });

        var html = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Name your organisation.", html);
        Assert.Contains("at least 10", html);
        Assert.Contains("do not match", html);
        Assert.DoesNotContain(portal.Services.GetRequiredService<Outbox>().Messages, m => m.To == email);
    }

    private static Task<HttpResponseMessage> SubmitAsync(HttpClient browser, string path, string form, Dictionary<string, string> fields) =>
        browser.SubmitAsync(path, form, fields);

    [GeneratedRegex("href='([^']+)'")]
    private static partial Regex LinkPattern();
}
