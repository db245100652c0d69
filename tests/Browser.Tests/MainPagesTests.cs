using Microsoft.Playwright;

namespace Lanes.Browser.Tests;

/// <summary>
/// Every main page, with the demo's week of usage, at desktop and phone width: no serious or critical accessibility
/// problem (axe-core), no text cut off, and a screenshot of each (artifacts/screenshots, "-desktop" and "-phone");
/// and again in dark mode ("-dark"), whose colours are checked for contrast the same way.
/// </summary>
[Collection(BrowserCollection.Name)]
public class MainPagesTests(LanesOnLoopback lanes)
{
    [Fact]
    public async Task Every_main_page_is_accessible_and_shows_all_its_text_at_desktop_and_phone_width()
    {
        var pages = await MainPagesAsync();
        var staff = pages.Single(p => p.Name == "dashboard").Page;

        var problems = new List<string>();
        foreach (var (size, suffix) in new[] { (PageChecks.Desktop, "desktop"), (PageChecks.Phone, "phone") })
        {
            foreach (var person in pages.Select(p => p.Page).Distinct())
            {
                await person.SetViewportSizeAsync(size.Width, size.Height);
            }

            foreach (var (page, name, url, ready) in pages)
            {
                if (url.StartsWith("/Account/", StringComparison.Ordinal))
                {
                    // Account pages are static server-rendered forms: no circuit to wait for.
                    await page.GotoAsync(url);
                    await page.Locator(ready).First.WaitForAsync();
                }
                else
                {
                    await page.OpenAsync(lanes, url, ready);
                }

                problems.AddRange(await page.CheckAsync(lanes, $"a11y-{name}-{suffix}"));
            }

            // The key hand-off: the dialog that shows a new key once, with its snippets.
            await staff.OpenAsync(lanes, "/keys", ".create-key");
            await staff.ClickAsync(".create-key");
            await staff.FillAsync(".key-name input", $"a11y-{suffix}");
            problems.AddRange(await staff.CheckAsync(lanes, $"a11y-key-form-{suffix}"));
            await staff.ClickAsync(".key-create");
            await staff.Locator(".key-secret input").WaitForAsync();
            problems.AddRange(await staff.CheckAsync(lanes, $"a11y-key-created-{suffix}"));
            await staff.ClickAsync("text=I have copied it");
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task Every_main_page_is_accessible_in_dark_mode()
    {
        // Contrast is the same at any width. The sign-up and sign-in forms are static (no circuit to switch the theme);
        // status and the search list use only colours the other pages already show.
        var pages = (await MainPagesAsync()).Where(p => p.Name is not ("status" or "sign-up" or "sign-in" or "support-search")).ToList();

        var problems = new List<string>();
        foreach (var (page, name, url, ready) in pages)
        {
            await page.SetViewportSizeAsync(PageChecks.Desktop.Width, PageChecks.Desktop.Height);
            await page.OpenAsync(lanes, url, ready);
            await page.ClickAsync("button[aria-label='Toggle dark mode']");
            // The theme swaps its CSS variables: wait until the page's background is dark.
            await page.WaitForFunctionAsync("""
                () => {
                  const [r, g, b] = getComputedStyle(document.body).backgroundColor.match(/\d+/g).map(Number);
                  return r + g + b < 3 * 80;
                }
                """);
            // The click leaves the pointer on the toggle, whose tooltip fades in after a round trip to the server:
            // checked part way through the fade, its half-transparent text failed the contrast check now and then.
            // So the check waits until the tooltip is fully shown, and judges it as people see it.
            await page.HoverAsync("button[aria-label='Toggle dark mode']");
            await page.WaitForShownTooltipAsync();
            problems.AddRange(await page.CheckAsync(lanes, $"a11y-{name}-dark"));
        }

        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public async Task A_week_of_usage_reads_its_axes_in_dollars_and_thousands_and_each_charts_figures_open_as_an_accessible_table()
    {
        var staff = await lanes.NewPersonAsync();
        await staff.SignInAsStaffAsync(lanes);
        await staff.SetViewportSizeAsync(PageChecks.Desktop.Width, PageChecks.Desktop.Height);
        await staff.OpenAsync(lanes, "/usage?range=7d", ".usage-chart svg");

        // The demo's week: about 180k tokens and a few dollars an hour, so the axes need "k" and "$" to be read.
        var spend = staff.Locator(".usage-chart", new() { Has = staff.GetByRole(AriaRole.Heading, new() { Name = "Spend equivalent", Exact = true }) });
        var tokens = staff.Locator(".usage-chart", new() { Has = staff.GetByRole(AriaRole.Heading, new() { Name = "Tokens", Exact = true }) });
        var spendTicks = await spend.Locator(".usage-chart-y span").AllInnerTextsAsync();
        var tokenTicks = await tokens.Locator(".usage-chart-y span").AllInnerTextsAsync();
        Assert.Contains(spendTicks, t => t.StartsWith('$') && t != "$0");
        Assert.Contains(tokenTicks, t => t.EndsWith('k'));

        // Every chart's figures open as a table with a caption and headers, which axe checks like the rest of the page.
        foreach (var toggle in await staff.Locator(".usage-chart-table-toggle").AllAsync())
        {
            await toggle.ClickAsync();
        }

        await Assertions.Expect(staff.Locator(".usage-chart-table table")).ToHaveCountAsync(await staff.Locator(".usage-chart-table-toggle").CountAsync());
        var problems = await staff.CheckAsync(lanes, "a11y-usage-week-tables");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    /// <summary>Every main page, opened by an anonymous visitor or by signed-in staff, with the element that shows it
    /// has rendered.</summary>
    private async Task<(IPage Page, string Name, string Url, string Ready)[]> MainPagesAsync()
    {
        var visitor = await lanes.NewPersonAsync();
        var staff = await lanes.NewPersonAsync();
        await staff.SignInAsStaffAsync(lanes);
        return
        [
            (visitor, "plans", "/", ".plan-card"),
            (visitor, "calculator", "/calculator", ".break-even"),
            (visitor, "status", "/status", ".status-models, .status-empty"),
            (visitor, "sign-up", "/Account/Register", "#Input\\.Email"),
            (visitor, "sign-in", "/Account/Login", "#Input\\.Email"),
            (staff, "dashboard", "/dashboard", ".lanes-reserved"),
            (staff, "keys", "/keys", ".key-link"),
            (staff, "key", $"/keys/{lanes.DemoKeyId}", ".key-title"),
            (staff, "usage-week", "/usage?range=7d", ".usage-chart svg"),
            (staff, "billing", "/billing", ".plan-option"),
            (staff, "team", "/team", ".members"),
            (staff, "api-clients", "/api-clients", ".create-client"),
            (staff, "support-search", "/support?q=demo", ".support-hits"),
            (staff, "support-tenant", $"/support/tenants/{lanes.DemoTenantId}", ".support-tenant-name"),
            (staff, "support-capacity", "/support/capacity", ".capacity-sellable"),
            (staff, "support-status", "/support/status", ".incident-form"),
        ];
    }
}
