using Bunit;
using Lanes.Billing.Keys;
using Lanes.Portal.Components.Pages.Keys;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Keys;

public class CreateKeyDialogTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task Invalid_input_shows_every_reason_and_issues_nothing_then_the_secret_is_shown_once_with_snippets()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.Services.AddSingleton<TimeProvider>(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now));
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        var requests = new List<KeyRequest>();
        var provider = ctx.Render<MudDialogProvider>();
        var dialogs = ctx.Services.GetRequiredService<IDialogService>();
        var parameters = new DialogParameters<CreateKeyDialog>
        {
            { d => d.Issue, (Func<KeyRequest, Task<IssuedKey>>)(r =>
            {
                requests.Add(r);
                return Task.FromResult(new IssuedKey(new ApiKey { Name = r.Name, Prefix = "lanes_abcdefgh" }, "lanes_the-secret-shown-once"));
            }) },
            { d => d.GatewayUrl, "http://127.0.0.1:5081/v1" },
        };
        await provider.InvokeAsync(() => dialogs.ShowAsync<CreateKeyDialog>("Create", parameters));

        provider.Find("button.key-create").Click();

        // The reason sits on its field, marked invalid for assistive technology.
        Assert.Contains("name of 1-100 characters", provider.Find(".key-name .mud-input-helper-text").TextContent);
        Assert.Equal("true", provider.Find(".key-name input").GetAttribute("aria-invalid"));
        Assert.Empty(requests);

        provider.Find(".key-name input").Change("ci-pipeline");
        provider.Find(".key-budget input").Change("2.5");
        provider.Find("button.key-create").Click();

        // The window list starts at the default, 8 hours.
        var request = Assert.Single(requests);
        Assert.Equal(("ci-pipeline", 2.5m, TimeSpan.FromHours(8)), (request.Name, request.BudgetUsd, request.WindowLength));
        provider.WaitForAssertion(() => Assert.Equal("lanes_the-secret-shown-once", provider.Find(".key-secret input").GetAttribute("value")));
        Assert.Contains("This is the only time the key is shown", provider.Markup);

        // The key goes into the environment once; every sample reads it from there, with the gateway's base URL.
        var snippets = provider.FindAll("pre.snippet").Select(p => p.TextContent).ToList();
        Assert.Contains("export LANES_API_KEY=lanes_the-secret-shown-once", snippets[0]);
        Assert.Contains("export LANES_BASE_URL=http://127.0.0.1:5081/v1", snippets[0]);
        Assert.All(snippets.Skip(1), s => Assert.DoesNotContain("lanes_the-secret-shown-once", s));
        Assert.Contains(snippets, s => s.Contains("base_url=\"http://127.0.0.1:5081/v1\", api_key=os.environ[\"LANES_API_KEY\"]"));
        Assert.Contains(snippets, s => s.Contains("ANTHROPIC_BASE_URL=http://127.0.0.1:5081\n"));
        Assert.Contains(snippets, s => s.StartsWith("curl $LANES_BASE_URL/chat/completions", StringComparison.Ordinal));
        Assert.Equal(snippets.Count, provider.FindAll(".snippet-copy").Count);
    }

    [Theory]
    [InlineData("ci", "8h", null, true)]
    [InlineData(" ", "8h", null, false)]
    [InlineData("ci", "0m", null, false)]
    [InlineData("ci", "8h", -1, false)]
    [InlineData("ci", "1d", 30, true)]
    public void The_form_checks_name_window_and_expiry(string name, string window, int? expiresInDays, bool valid)
    {
        var form = new KeyForm { Name = name, Window = window, ExpiresOn = expiresInDays is { } d ? Now.UtcDateTime.AddDays(d) : null };

        Assert.Equal(valid, form.Validate(Now).Count == 0);
    }
}
