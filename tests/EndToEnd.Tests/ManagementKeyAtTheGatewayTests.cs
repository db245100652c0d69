extern alias gateway;
extern alias portal;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using GatewayProgram = gateway::Program;
using ManagementClientService = portal::Lanes.Portal.Api.Clients.ManagementClientService;
using ClientRequest = portal::Lanes.Portal.Api.Clients.ClientRequest;
using PortalProgram = portal::Program;

namespace Lanes.EndToEnd.Tests;

/// <summary>The gateway on the portal's database (and key pepper), with the scripted engine.</summary>
public sealed class GatewayBeside : AppFactory<GatewayProgram>
{
    private readonly PortalOnOwnDatabase portal;

    public GatewayBeside(PortalOnOwnDatabase portal)
    {
        this.portal = portal;
        UseKestrel(0);
    }

    protected override string ConnectionString => portal.ConnectionStringForOthers;

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Keys:Pepper", portal.Pepper);
        builder.UseSetting("Capacity:Source", "Configured");
        builder.UseSetting("Engine:Kind", "scripted");
        builder.UseSetting("Engine:Scripted:Model", "scripted");
        builder.UseSetting("Engine:Scripted:Tokens", "4");
        builder.UseSetting("Engine:Scripted:TokenDelay", "00:00:00");
        builder.UseSetting("Gateway:Keys:PollInterval", "00:00:00.100");
    }
}

public sealed class PortalOnOwnDatabase : AppFactory<PortalProgram>
{
    public PortalOnOwnDatabase()
    {
        UseKestrel(0);
    }

    public string ConnectionStringForOthers => ConnectionString;
}

/// <summary>Both hosts on real Kestrel ports and one database: the portal first (it migrates), then the gateway.</summary>
public sealed class PortalAndGateway : IAsyncLifetime
{
    public PortalOnOwnDatabase Portal { get; } = new();

    public GatewayBeside Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Portal.InitializeAsync();
        Portal.StartServer();
        Gateway = new GatewayBeside(Portal);
        Gateway.StartServer();
    }

    public async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await ((IAsyncLifetime)Portal).DisposeAsync();
    }
}

/// <summary>"A key created through the API works at the gateway": token → POST /api/v1/keys → chat completion.</summary>
public class ManagementKeyAtTheGatewayTests(PortalAndGateway hosts) : IClassFixture<PortalAndGateway>
{
    [Fact]
    public async Task A_key_created_through_the_management_api_works_at_the_gateway_until_revoked_there()
    {
        var services = hosts.Portal.Services;
        var tenant = await services.GetRequiredService<TenantService>().CreateAsync($"e2e-{Guid.NewGuid():N}"[..20], "End to end", "test");
        await services.GetRequiredService<SubscriptionService>().StartAsync(tenant.Id, "pro", "test");
        var client = await services.GetRequiredService<ManagementClientService>().CreateAsync(tenant.Id, new ClientRequest("ci", ["keys:write"]), "test");

        using var portal = hosts.Portal.CreateClient();
        using var token = await portal.PostAsync("/connect/token", new FormUrlEncodedContent(new Dictionary<string, string>
        {
            ["grant_type"] = "client_credentials", ["client_id"] = client.Client.ClientId, ["client_secret"] = client.Secret,
        }));
        token.EnsureSuccessStatusCode();
        portal.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer",
            (await token.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString());

        using var created = await portal.PostAsJsonAsync("/api/v1/keys", new { name = "ci-run", budget_usd = 1m, models = new[] { "scripted" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var secret = body.GetProperty("secret").GetString()!;
        var keyId = body.GetProperty("key").GetProperty("id").GetGuid();

        using var gateway = hosts.Gateway.CreateClient();
        // Real sockets on both sides, not the in-memory test server.
        Assert.All(new[] { portal.BaseAddress!, gateway.BaseAddress! }, a => Assert.NotEqual(80, a.Port));
        var completion = await Eventually.Get(() => ChatAsync(gateway, secret), r => r.Status == HttpStatusCode.OK, what: "the gateway to accept the new key");
        Assert.Equal("chat.completion", completion.Body.GetProperty("object").GetString());

        using var revoked = await portal.PostAsync($"/api/v1/keys/{keyId}/revoke", null);
        revoked.EnsureSuccessStatusCode();
        await Eventually.Get(() => ChatAsync(gateway, secret), r => r.Status == HttpStatusCode.Unauthorized, what: "the gateway to refuse the revoked key");
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> ChatAsync(HttpClient gateway, string secret)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = JsonContent.Create(new { model = "scripted", messages = new[] { new { role = "user", content = "Hello" } } }),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await gateway.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 && text.TrimStart().StartsWith('{') ? JsonDocument.Parse(text).RootElement.Clone() : default);
    }
}
