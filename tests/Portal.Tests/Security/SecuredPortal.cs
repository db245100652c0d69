using System.Net;
using Lanes.Portal.Identity;
using Lanes.Portal.Tests.Account;
using Lanes.Portal.Tests.Api;
using Microsoft.AspNetCore.Hosting;

namespace Lanes.Portal.Tests.Security;

/// <summary>The portal on Kestrel as deployed: its public URL configured, sessions revalidated on every request
/// (so a test sees a security stamp change at once), internal billing.</summary>
public class SecuredPortal : PortalOnKestrel
{
    public const string PublicUrl = "https://portal.lanes.test";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Portal:PublicUrl", PublicUrl);
        builder.UseSetting("Portal:SessionRevalidation", "00:00:00");
    }

    /// <summary>A browser with its own cookies that follows no redirects (the tests look at them).</summary>
    public HttpClient Browser() => new(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new CookieContainer() }) { BaseAddress = BaseAddress };

    /// <summary>Signs up through the forms, confirms from the outbox, signs in: a customer who owns a new organisation.</summary>
    public async Task<(HttpClient Browser, string Email)> ConfirmedOwnerAsync(string password = "Correct-Horse-9")
    {
        var email = $"owner-{Guid.NewGuid():N}@acme.test";
        var browser = Browser();
        var registered = await browser.RegisterAsync($"Org {Guid.NewGuid():N}"[..16], email, password);
        Assert.Equal(HttpStatusCode.Redirect, registered.StatusCode);
        var link = new Uri(FormSteps.LinkFromOutbox(Services, email));
        Assert.Contains("Thank you for confirming your email", await (await browser.GetAsync(link.PathAndQuery)).Content.ReadAsStringAsync());
        Assert.Equal(HttpStatusCode.Redirect, (await browser.SignInAsync(email, password)).StatusCode);
        return (browser, email);
    }
}

/// <summary>A portal of its own for the sign-up flood: its rate limits are spent by the test.</summary>
public sealed class PortalForTheSignUpFlood : SecuredPortal;
