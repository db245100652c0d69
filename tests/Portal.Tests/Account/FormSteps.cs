using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Lanes.Portal.Identity;
using Lanes.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Account;

/// <summary>What a person does with the portal's forms, over plain HTTP with cookies (no browser).</summary>
public static partial class FormSteps
{
    /// <summary>Opens the form's page, then posts it with the page's antiforgery token, as a browser would.</summary>
    public static async Task<HttpResponseMessage> SubmitAsync(this HttpClient browser, string path, string form, Dictionary<string, string> fields)
    {
        var page = await browser.GetStringAsync(path);
        fields["_handler"] = form;
        fields["__RequestVerificationToken"] = WebUtility.HtmlDecode(TokenPattern().Match(page).Groups[1].Value);
        return await browser.PostAsync(path, new FormUrlEncodedContent(fields));
    }

    public static Task<HttpResponseMessage> RegisterAsync(this HttpClient browser, string organisation, string email, string password) =>
        browser.SubmitAsync("/Account/Register", "register", new()
        {
            ["Input.Organisation"] = organisation,
            ["Input.Email"] = email,
            ["Input.Password"] = password,
            ["Input.ConfirmPassword"] = password,
        });

    public static Task<HttpResponseMessage> SignInAsync(this HttpClient browser, string email, string password) =>
        browser.SubmitAsync("/Account/Login", "login", new() { ["Input.Email"] = email, ["Input.Password"] = password });

    /// <summary>The first link of the newest email to <paramref name="to"/> in the development outbox.</summary>
    public static string LinkFromOutbox(IServiceProvider services, string to)
    {
        var message = services.GetRequiredService<Outbox>().Messages.Last(m => m.To == to);
        return WebUtility.HtmlDecode(LinkPattern().Match(message.HtmlBody).Groups[1].Value);
    }

    /// <summary>Signs in a staff member the way they must: password, then an authenticator code (setting the
    /// authenticator up first when this is their first sign-in).</summary>
    public static async Task<string> SignInAsStaffAsync(this HttpClient browser, string email, string password, string? sharedKey = null)
    {
        var signedIn = await browser.SignInAsync(email, password);
        if (sharedKey is null)
        {
            Assert.Contains("EnableAuthenticator", signedIn.Headers.Location?.ToString() ?? "");
            return await browser.EnableAuthenticatorAsync();
        }

        Assert.Contains("LoginWith2fa", signedIn.Headers.Location?.ToString() ?? "");
        var twoFactor = await browser.SubmitAsync(signedIn.Headers.Location!.ToString(), "login-with-2fa", new() { ["Input.TwoFactorCode"] = Totp.Code(sharedKey) });
        Assert.Equal(HttpStatusCode.Redirect, twoFactor.StatusCode);
        return sharedKey;
    }

    /// <summary>Adds an authenticator app to the signed-in account; returns its shared key.</summary>
    public static async Task<string> EnableAuthenticatorAsync(this HttpClient browser)
    {
        var page = await browser.GetStringAsync("/Account/Manage/EnableAuthenticator");
        var sharedKey = SharedKeyPattern().Match(page).Groups[1].Value;
        var enabled = await browser.SubmitAsync("/Account/Manage/EnableAuthenticator", "send-code", new() { ["Input.Code"] = Totp.Code(sharedKey) });
        Assert.True(enabled.IsSuccessStatusCode || enabled.StatusCode == HttpStatusCode.Redirect, $"enabling 2FA answered {enabled.StatusCode}");
        return sharedKey;
    }

    /// <summary>A billing API write with the antiforgery token the API hands out, as the portal's own scripts would.</summary>
    public static Task<HttpResponseMessage> PostBillingAsync(this HttpClient browser, string path, object? body = null) =>
        browser.SendBillingAsync(HttpMethod.Post, path, body);

    public static async Task<HttpResponseMessage> SendBillingAsync(this HttpClient browser, HttpMethod method, string path, object? body = null)
    {
        var antiforgery = await browser.GetFromJsonAsync<JsonElement>("/billing/api/antiforgery");
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body ?? new { command_id = Guid.NewGuid() }) };
        request.Headers.Add(antiforgery.GetProperty("header_name").GetString()!, antiforgery.GetProperty("token").GetString());
        return await browser.SendAsync(request);
    }

    [GeneratedRegex("name=\"__RequestVerificationToken\" value=\"([^\"]+)\"")]
    private static partial Regex TokenPattern();

    [GeneratedRegex("href='([^']+)'")]
    private static partial Regex LinkPattern();

    [GeneratedRegex("<kbd>([^<]+)</kbd>")]
    private static partial Regex SharedKeyPattern();
}
