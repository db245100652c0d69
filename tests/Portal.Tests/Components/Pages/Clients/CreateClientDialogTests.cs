using Bunit;
using Lanes.Portal.Api.Clients;
using Lanes.Portal.Components.Pages.Clients;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Clients;

public class CreateClientDialogTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public async Task Invalid_input_creates_nothing_then_the_chosen_scopes_are_requested_and_the_secret_is_shown_once()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.Services.AddSingleton<TimeProvider>(new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Now));
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        var requests = new List<ClientRequest>();
        var provider = ctx.Render<MudDialogProvider>();
        var dialogs = ctx.Services.GetRequiredService<IDialogService>();
        var parameters = new DialogParameters<CreateClientDialog>
        {
            { d => d.Create, (Func<ClientRequest, Task<IssuedClient>>)(r =>
            {
                requests.Add(r);
                return Task.FromResult(new IssuedClient(new ManagementClient { ClientId = "lanes_mc_0123456789", Name = r.Name, Scopes = [.. r.Scopes] }, "lmcs_the-secret-shown-once"));
            }) },
            { d => d.PortalUrl, "http://127.0.0.1:5080" },
        };
        await provider.InvokeAsync(() => dialogs.ShowAsync<CreateClientDialog>("Create", parameters));

        provider.Find(".scope-keys-read input").Change(false);
        provider.Find("button.client-create").Click();

        // Each reason sits with what it is about: the name on its field, the scopes under the checkboxes.
        Assert.Contains("name of 1-100 characters", provider.Find(".client-name .mud-input-helper-text").TextContent);
        Assert.Contains("at least one scope", provider.Find(".client-scopes-error").TextContent);
        Assert.Empty(requests);

        provider.Find(".client-name input").Change("nightly-finance");
        provider.Find(".scope-usage-read input").Change(true);
        provider.Find(".scope-keys-write input").Change(true);
        provider.Find("button.client-create").Click();

        var request = Assert.Single(requests);
        Assert.Equal("nightly-finance", request.Name);
        Assert.Equal(["keys:write", "usage:read"], request.Scopes);
        provider.WaitForAssertion(() => Assert.Equal("lmcs_the-secret-shown-once", provider.Find(".client-secret input").GetAttribute("value")));
        Assert.Contains("client_id=lanes_mc_0123456789", provider.Markup);
        Assert.Contains("only time the secret is shown", provider.Markup);
    }
}
