using System.Diagnostics;
using Microsoft.Playwright;

namespace Lanes.Browser.Tests;

/// <summary>What a person does in the portal, as browser steps.</summary>
public static class PageSteps
{
    /// <summary>Opens an interactive page and waits until the circuit is up and <paramref name="ready"/> shows;
    /// records how long that took.</summary>
    public static async Task OpenAsync(this IPage page, LanesOnLoopback lanes, string url, string ready, string? timingName = null)
    {
        var clock = Stopwatch.StartNew();
        await page.GotoAsync(url);
        await page.WaitForSelectorAsync("body[data-interactive=true]");
        await page.Locator(ready).First.WaitForAsync();
        if (timingName is not null)
        {
            lock (lanes.Timings)
            {
                lanes.Timings.Add(new PageTiming(timingName, clock.Elapsed.TotalMilliseconds));
            }
        }
    }

    public static Task ScreenshotAsync(this IPage page, LanesOnLoopback lanes, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(lanes.Screenshots, $"{name}.png"), FullPage = true });

    public static async Task SignUpAndConfirmAsync(this IPage page, string organisation, string email, string password)
    {
        await page.GotoAsync("/Account/Register");
        await page.FillAsync("#Input\\.Organisation", organisation);
        await page.FillAsync("#Input\\.Email", email);
        await page.FillAsync("#Input\\.Password", password);
        await page.FillAsync("#Input\\.ConfirmPassword", password);
        await page.ClickAsync("button[type=submit]");
        // Only that the sign-up was accepted matters here (the next step opens the outbox): waiting for the page's
        // load event as well made a cold first run hang on it once (the URL had matched; "load" never came in 30 s).
        await page.WaitForURLAsync("**/Account/RegisterConfirmation**", new PageWaitForURLOptions { WaitUntil = WaitUntilState.Commit });

        // The email is in the development outbox: follow its link as the person would from their inbox.
        await page.GotoAsync("/dev/outbox");
        var link = page.Locator($".outbox-message[data-to='{email}'] a").First;
        var href = await link.GetAttributeAsync("href");
        await page.GotoAsync(System.Net.WebUtility.HtmlDecode(href!));
        await page.Locator("text=Thank you for confirming your email").WaitForAsync();
    }

    public static async Task SignInAsync(this IPage page, string email, string password)
    {
        await page.GotoAsync("/Account/Login");
        await page.FillAsync("#Input\\.Email", email);
        await page.FillAsync("#Input\\.Password", password);
        await page.ClickAsync("button[type=submit]:has-text('Log in')");
        await page.WaitForURLAsync(url => !string.Equals(new Uri(url).AbsolutePath, "/Account/Login", StringComparison.OrdinalIgnoreCase));
    }

    /// <summary>Signs in the demo's staff admin as staff must: password, then an authenticator code. The first time,
    /// the portal asks for an authenticator app to be added; the key it shows is kept for later sign-ins.</summary>
    public static async Task SignInAsStaffAsync(this IPage page, LanesOnLoopback lanes)
    {
        await page.SignInAsync(lanes.AdminEmail, lanes.AdminPassword);
        if (lanes.AdminAuthenticatorKey is null)
        {
            await page.WaitForURLAsync("**/Account/Manage/EnableAuthenticator**");
            lanes.AdminAuthenticatorKey = (await page.Locator("kbd").First.InnerTextAsync()).Trim();
            await page.FillAsync("#Input\\.Code", Lanes.Testing.Totp.Code(lanes.AdminAuthenticatorKey));
            await page.ClickAsync("button[type=submit]:has-text('Verify')");
            await page.Locator("text=Your authenticator app has been verified").WaitForAsync();
            return;
        }

        await page.WaitForURLAsync("**/Account/LoginWith2fa**");
        await page.FillAsync("#Input\\.TwoFactorCode", Lanes.Testing.Totp.Code(lanes.AdminAuthenticatorKey));
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync(url => !url.Contains("/Account/LoginWith2fa", StringComparison.Ordinal));
    }

    /// <summary>Reloads until <paramref name="selector"/>'s text is <paramref name="expected"/> (usage appears a
    /// moment after the request: the gateway flushes, the projection catches up).</summary>
    public static async Task ReloadUntilTextAsync(this IPage page, string selector, string expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await page.WaitForSelectorAsync("body[data-interactive=true]");
            var text = (await page.Locator(selector).First.InnerTextAsync()).Trim();
            if (text == expected)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"{selector} showed '{text}', not '{expected}'.");
            }

            await page.ReloadAsync();
        }
    }

    /// <summary>Reloads until an element matching <paramref name="selector"/> is on the page (figures a server
    /// computes now and then, such as the status page's).</summary>
    public static async Task ReloadUntilPresentAsync(this IPage page, string selector, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await page.WaitForSelectorAsync("body[data-interactive=true]");
            if (await page.Locator(selector).CountAsync() > 0)
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Nothing matched {selector} within {timeout.TotalSeconds:0} s.");
            }

            await page.ReloadAsync();
        }
    }
}
