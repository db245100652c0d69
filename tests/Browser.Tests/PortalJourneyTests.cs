using System.ClientModel;
using Microsoft.Playwright;
using OpenAI;
using OpenAI.Chat;

namespace Lanes.Browser.Tests;

/// <summary>
/// The portal in a real Chromium against the real portal and gateway processes. One person's journey builds on
/// itself inside a test; each test signs up its own organisation, so tests never share a tenant.
/// </summary>
[Collection(BrowserCollection.Name)]
public class PortalJourneyTests(LanesOnLoopback lanes)
{
    private const string Password = "Correct-Horse-42!";

    /// <summary>The status page's figures are computed at most once a minute: a little over that.</summary>
    private static readonly TimeSpan FleetStatusRefresh = Lanes.Billing.Status.FleetStatus.CacheFor + TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_new_customer_signs_up_picks_a_plan_creates_a_key_calls_the_gateway_and_sees_the_usage()
    {
        var page = await lanes.NewPersonAsync();
        var email = $"dev-{Guid.NewGuid():N}@journey.test";
        await page.OpenAsync(lanes, "/", ".plan-card", "Plans (public)");
        await page.ScreenshotAsync(lanes, "01-plans");
        await page.OpenAsync(lanes, "/calculator", ".break-even", "Calculator (public)");
        await page.ScreenshotAsync(lanes, "02-calculator");

        await page.SignUpAndConfirmAsync("Journey Labs", email, Password);
        await page.SignInAsync(email, Password);

        // Confirming the email started the free trial; in internal billing only staff assign other plans.
        await page.OpenAsync(lanes, "/billing", ".plan-option", "Billing");
        await Assertions.Expect(page.Locator(".current-plan-name")).ToHaveTextAsync("Starter");
        await Assertions.Expect(page.Locator(".free-trial")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".plans-by-staff")).ToBeVisibleAsync();
        Assert.Equal(0, await page.Locator(".choose-plan").CountAsync());
        await page.ScreenshotAsync(lanes, "05-billing");

        // Create a key: the secret is shown once, with snippets for the gateway.
        await page.OpenAsync(lanes, "/keys", ".keys-empty", "API keys (empty)");
        await page.ClickAsync(".create-key");
        await page.FillAsync(".key-name input", "journey-ci");
        await page.ClickAsync(".key-create");
        var secret = await page.Locator(".key-secret input").InputValueAsync();
        Assert.StartsWith("lanes_", secret);
        await Assertions.Expect(page.Locator(".snippet").First).ToContainTextAsync(lanes.GatewayUrl);
        await page.ScreenshotAsync(lanes, "06-key-created");
        await page.ClickAsync("text=I have copied it");
        await Assertions.Expect(page.Locator(".key-link")).ToHaveTextAsync("journey-ci");

        // A real request with that key through the gateway, with the official OpenAI client.
        var client = new ChatClient("scripted", new ApiKeyCredential(secret), new OpenAIClientOptions { Endpoint = new Uri(lanes.GatewayUrl) });
        ChatCompletion completion = await client.CompleteChatAsync([new UserChatMessage("Hello from the browser test")]);
        Assert.NotEmpty(completion.Content[0].Text);

        // The usage page shows it once the gateway has flushed and the projection caught up.
        await page.OpenAsync(lanes, "/usage?range=24h", ".usage-requests", "Usage");
        await page.ReloadUntilTextAsync(".usage-requests .stat-value", "1", TimeSpan.FromSeconds(30));
        await Assertions.Expect(page.Locator(".usage-chart").First).ToBeVisibleAsync();
        // One request with both trial lanes free: within the reservation, and it started at once.
        await Assertions.Expect(page.Locator(".usage-honoured .stat-value")).ToHaveTextAsync("100 %");
        await Assertions.Expect(page.Locator(".usage-chart[data-chart='Lane promise honoured']")).ToBeVisibleAsync();
        await page.ScreenshotAsync(lanes, "07-usage");

        await page.OpenAsync(lanes, "/keys", ".key-link", "API keys");
        await page.ClickAsync(".key-link");
        await Assertions.Expect(page.Locator(".key-title")).ToHaveTextAsync("journey-ci");
        await page.ScreenshotAsync(lanes, "08-key");
        await page.OpenAsync(lanes, "/dashboard", ".lanes-reserved", "Dashboard");
        await Assertions.Expect(page.Locator(".plan .stat-value")).ToHaveTextAsync("Starter");
        await Assertions.Expect(page.Locator(".lane-promise-honoured")).ToHaveTextAsync("100 % honoured");
        await Assertions.Expect(page.Locator(".lane-promise")).ToContainTextAsync("1 of 1 request within your reservation started on time");
        await Assertions.Expect(page.Locator(".lane-promise-credit")).ToContainTextAsync("On track");
        await page.ScreenshotAsync(lanes, "04-dashboard");
        await page.OpenAsync(lanes, "/team", ".members", "Team");
        await page.ScreenshotAsync(lanes, "09-team");
    }

    [Fact]
    public async Task Staff_raise_a_tenants_reservation_and_the_tenant_sees_the_new_lanes_but_a_reason_is_required()
    {
        var customer = await lanes.NewPersonAsync();
        var organisation = $"Reserve {Guid.NewGuid():N}"[..20];
        var email = $"owner-{Guid.NewGuid():N}@reserve.test";
        await customer.SignUpAndConfirmAsync(organisation, email, Password);
        await customer.SignInAsync(email, Password);
        await customer.OpenAsync(lanes, "/dashboard", ".lanes-reserved");
        var before = (await customer.Locator(".lanes-reserved .stat-value").InnerTextAsync()).Trim();

        var staff = await lanes.NewPersonAsync();
        await staff.SignInAsStaffAsync(lanes);
        await staff.OpenAsync(lanes, "/support", ".support-search", "Support search");
        await staff.FillAsync(".support-search input", organisation);
        await staff.PressAsync(".support-search input", "Enter");
        await staff.ClickAsync($".support-hits >> text={organisation}");
        await staff.Locator(".support-tenant-name").WaitForAsync();

        // Without a reason nothing changes and the form says why.
        await staff.FillAsync(".reservation-lanes input", "9");
        await staff.ClickAsync(".reservation-save");
        await Assertions.Expect(staff.Locator(".reservation-reason .mud-input-helper-text")).ToContainTextAsync("reason");
        await Assertions.Expect(staff.Locator(".support-reserved")).ToHaveTextAsync($"{before} lanes");

        await staff.FillAsync(".reservation-reason textarea", "Launch week: raised for the customer's launch");
        await staff.ClickAsync(".reservation-save");

        // Nothing changes until staff confirm, having read the change.
        var confirm = staff.Locator(".mud-dialog");
        await Assertions.Expect(confirm).ToContainTextAsync($"from {before} reserved lanes to 9 reserved lanes");
        await Assertions.Expect(staff.Locator(".support-reserved")).ToHaveTextAsync($"{before} lanes");
        var dialogProblems = await staff.CheckAsync(lanes, "11-support-reservation-confirm");
        Assert.True(dialogProblems.Count == 0, string.Join("\n", dialogProblems));
        await confirm.GetByRole(AriaRole.Button, new() { Name = "Confirm" }).ClickAsync();
        await Assertions.Expect(staff.Locator(".support-reserved")).ToHaveTextAsync("9 lanes");
        await Assertions.Expect(staff.Locator(".support-timeline")).ToContainTextAsync($"Reservation set to 9 lanes: Launch week");
        await Assertions.Expect(staff.Locator(".support-timeline")).ToContainTextAsync($"by {lanes.AdminEmail}");
        await staff.ScreenshotAsync(lanes, "11-support-tenant");

        await customer.OpenAsync(lanes, "/dashboard", ".lanes-reserved", "Dashboard (after reservation)");
        await Assertions.Expect(customer.Locator(".lanes-reserved .stat-value")).ToHaveTextAsync("9");
    }

    [Fact]
    public async Task Staff_post_an_incident_and_anyone_sees_it_with_each_models_lane_promise_on_the_public_status_page()
    {
        // Traffic within a reservation on the scripted model (the demo tenant's Pro lanes).
        var demo = new ChatClient("scripted", new ApiKeyCredential(lanes.DemoKeySecret), new OpenAIClientOptions { Endpoint = new Uri(lanes.GatewayUrl) });
        await demo.CompleteChatAsync([new UserChatMessage("status usage")]);

        var staff = await lanes.NewPersonAsync();
        await staff.SignInAsStaffAsync(lanes);
        await staff.OpenAsync(lanes, "/support/status", ".incident-form", "Support status incidents");
        var title = $"Slow admissions in eu-1 {Guid.NewGuid():N}"[..30];
        await staff.FillAsync(".incident-title input", title);
        await staff.FillAsync(".incident-message textarea", "Requests on one gateway wait for a lane; we are adding a node.");
        await staff.ClickAsync(".incident-post");
        await staff.ClickAsync(".mud-message-box__yes-button");
        await Assertions.Expect(staff.Locator(".open-incident").Filter(new() { HasText = title })).ToBeVisibleAsync();

        // Nobody signed in: the status page names no customer, only models, and shows the open incident.
        var visitor = await lanes.NewPersonAsync();
        await visitor.OpenAsync(lanes, "/status", ".status-open-incident", "Status (public)");
        await Assertions.Expect(visitor.Locator(".status-open-incident").Filter(new() { HasText = title })).ToBeVisibleAsync();
        await visitor.ReloadUntilPresentAsync(".status-models tbody tr:has(code:text-is('scripted'))", FleetStatusRefresh);
        await Assertions.Expect(visitor.Locator(".status-models tbody tr:has(code:text-is('scripted')) .status-day-honoured")).ToContainTextAsync("%");
        await visitor.ScreenshotAsync(lanes, "16-status");

        // Resolved, it moves to the history.
        await staff.FillAsync(".open-incident:has-text('" + title + "') .incident-resolution input", "Node added; waits back to normal.");
        await staff.ClickAsync(".open-incident:has-text('" + title + "') .incident-resolve");
        await Assertions.Expect(staff.Locator(".open-incident").Filter(new() { HasText = title })).ToHaveCountAsync(0);
        await visitor.OpenAsync(lanes, "/status", ".status-incident", "Status (public, after)");
        await Assertions.Expect(visitor.Locator(".status-incident").Filter(new() { HasText = title })).ToContainTextAsync("Node added");
    }

    [Fact]
    public async Task Staff_see_the_capacity_ledger_with_the_gateways_that_report()
    {
        var staff = await lanes.NewPersonAsync();
        await staff.SignInAsStaffAsync(lanes);

        await staff.OpenAsync(lanes, "/support/capacity", ".capacity-sellable", "Support capacity");

        // The demo tenant's Pro plan is sold, and the fleet's one gateway is listed with its engine slots.
        Assert.True(int.Parse(await staff.Locator(".capacity-sold .stat-value").InnerTextAsync(), System.Globalization.CultureInfo.InvariantCulture) >= 6);
        await Assertions.Expect(staff.Locator(".capacity-gateways .capacity-gateway-id").First).ToBeVisibleAsync();
        await Assertions.Expect(staff.Locator(".capacity-chart svg").First).ToBeVisibleAsync();

        // Per model pool: the default pool sells every demo plan, and its gateway serves the demo model.
        var pool = staff.Locator(".capacity-pools tbody tr", new() { Has = staff.Locator(".capacity-pool-id", new() { HasText = "default" }) });
        await Assertions.Expect(pool).ToHaveCountAsync(1);
        await Assertions.Expect(pool.Locator(".capacity-pool-live")).Not.ToHaveTextAsync("0");
        await staff.ScreenshotAsync(lanes, "15-support-capacity");
    }

    [Fact]
    public async Task A_customer_cannot_open_another_tenants_key_usage_or_the_support_console_by_url()
    {
        // The demo tenant (another organisation) has usage of its own.
        var demo = new ChatClient("scripted", new ApiKeyCredential(lanes.DemoKeySecret), new OpenAIClientOptions { Endpoint = new Uri(lanes.GatewayUrl) });
        await demo.CompleteChatAsync([new UserChatMessage("demo usage")]);

        var page = await lanes.NewPersonAsync();
        var email = $"curious-{Guid.NewGuid():N}@tenancy.test";
        await page.SignUpAndConfirmAsync("Curious Co", email, Password);
        await page.SignInAsync(email, Password);

        await page.OpenAsync(lanes, $"/keys/{lanes.DemoKeyId}", ".key-not-found");
        Assert.Equal(0, await page.Locator(".key-title").CountAsync());

        await page.OpenAsync(lanes, $"/usage?range=24h&key={lanes.DemoKeyId}", ".usage-requests");
        await Assertions.Expect(page.Locator(".usage-requests .stat-value")).ToHaveTextAsync("0");
        await Assertions.Expect(page.Locator(".usage-empty")).ToBeVisibleAsync();

        var export = await page.APIRequest.GetAsync($"/usage/export.csv?range=24h&key={lanes.DemoKeyId}&org=demo");
        Assert.DoesNotMatch(@"\n[^,]+,[1-9]", (await export.TextAsync()).Replace("\r", ""));

        await page.GotoAsync("/support");
        Assert.Equal(0, await page.Locator(".support-search").CountAsync());
    }

    [Fact]
    public async Task Invalid_key_input_shows_why_and_creates_nothing()
    {
        var page = await lanes.NewPersonAsync();
        var email = $"careful-{Guid.NewGuid():N}@forms.test";
        await page.SignUpAndConfirmAsync("Careful Forms", email, Password);
        await page.SignInAsync(email, Password);
        await page.OpenAsync(lanes, "/keys", ".keys-empty");

        await page.ClickAsync(".create-key");
        // Windows are picked from a list; a custom length is typed, and checked.
        await page.ClickAsync(".key-window-choice");
        await page.ClickAsync(".mud-popover-open .mud-list-item:has-text('Custom length')");
        await page.FillAsync(".key-window input", "forever");
        await page.ClickAsync(".key-create");

        // Each reason shows on its own field, which is marked invalid.
        await Assertions.Expect(page.Locator(".key-name .mud-input-helper-text")).ToContainTextAsync("name of 1-100 characters");
        await Assertions.Expect(page.Locator(".key-window .mud-input-helper-text")).ToContainTextAsync("8h, 30m or 1d");
        await Assertions.Expect(page.Locator(".key-name input")).ToHaveAttributeAsync("aria-invalid", "true");
        await page.ScreenshotAsync(lanes, "10-invalid-key");
        await page.ClickAsync("button:has-text('Cancel')");
        await page.ReloadAsync();
        await page.WaitForSelectorAsync("body[data-interactive=true]");
        await Assertions.Expect(page.Locator(".keys-empty")).ToBeVisibleAsync();
    }

    /// <summary>Measures (does not assert) how long each main page takes with the demo data once the portal is warm:
    /// one visit to warm up, then the median of three, reported in docs/benchmarks.md.</summary>
    [Fact]
    public async Task The_main_pages_render_for_the_demo_tenant_and_their_timings_are_recorded()
    {
        var staff = await lanes.NewPersonAsync();
        await staff.SignInAsStaffAsync(lanes);
        (string Name, string Url, string Ready)[] pages =
        [
            ("Plans", "/", ".plan-card"),
            ("Calculator", "/calculator", ".break-even"),
            ("Dashboard", "/dashboard", ".lanes-reserved"),
            ("API keys", "/keys", ".key-link"),
            ("Key", $"/keys/{lanes.DemoKeyId}", ".key-title"),
            ("Usage (7 days hourly)", "/usage?range=7d", ".usage-requests"),
            ("Usage (90 days daily)", "/usage?range=90d", ".usage-requests"),
            ("Billing", "/billing", ".plan-option"),
            ("Team", "/team", ".members"),
            ("Support search", "/support?q=demo", ".support-hits"),
        ];

        foreach (var (name, url, ready) in pages)
        {
            await staff.OpenAsync(lanes, url, ready);
            var runs = new List<double>();
            for (var i = 0; i < 3; i++)
            {
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await staff.OpenAsync(lanes, url, ready);
                runs.Add(clock.Elapsed.TotalMilliseconds);
            }

            lock (lanes.Timings)
            {
                lanes.Timings.Add(new PageTiming($"warm median: {name}", runs.Order().ElementAt(1)));
            }
        }

        await staff.OpenAsync(lanes, "/support?q=demo", ".support-hits");
        await staff.ScreenshotAsync(lanes, "12-support-search");
        await staff.OpenAsync(lanes, "/dashboard", ".lanes-reserved");
        await staff.ScreenshotAsync(lanes, "03-dashboard-demo");
        await Assertions.Expect(staff.Locator(".organisation-name")).ToHaveTextAsync("Demo Inc.");

        // A phone-sized screen: the drawer folds away, the figures stack, and the last 24 hours still lead the page.
        await staff.SetViewportSizeAsync(390, 844);
        await staff.OpenAsync(lanes, "/dashboard", ".lanes-reserved");
        await Assertions.Expect(staff.Locator(".last-day-peak")).ToBeInViewportAsync();
        await staff.ScreenshotAsync(lanes, "13-dashboard-phone");
        await staff.OpenAsync(lanes, "/usage?range=24h", ".usage-requests");
        await staff.ScreenshotAsync(lanes, "14-usage-phone");
    }
}
