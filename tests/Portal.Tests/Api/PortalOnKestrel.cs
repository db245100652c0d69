using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Api.Clients;
using Lanes.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Api;

/// <summary>The portal on real Kestrel (a loopback port) on its own database, with helpers for tenants, management
/// clients and tokens.</summary>
public class PortalOnKestrel : OnKestrel<Program>
{
    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    /// <summary>A new tenant with a live subscription.</summary>
    public async Task<Guid> TenantAsync(string plan = "pro")
    {
        var tenant = await Get<TenantService>().CreateAsync($"t-{Guid.NewGuid():N}"[..20], "Management test", "test");
        await Get<SubscriptionService>().StartAsync(tenant.Id, plan, "test");
        return tenant.Id;
    }

    public Task<IssuedClient> ClientAsync(Guid tenantId, IReadOnlyList<string> scopes, DateTimeOffset? expiresAt = null) =>
        Get<ManagementClientService>().CreateAsync(tenantId, new ClientRequest("ci", scopes, expiresAt), "user-1");

    public async Task<HttpResponseMessage> RequestTokenAsync(string clientId, string secret, string? scope = null)
    {
        using var http = Http();
        var form = new Dictionary<string, string> { ["grant_type"] = "client_credentials", ["client_id"] = clientId, ["client_secret"] = secret };
        if (scope is not null)
        {
            form["scope"] = scope;
        }

        return await http.PostAsync("/connect/token", new FormUrlEncodedContent(form));
    }

    public async Task<string> TokenAsync(IssuedClient client, string? scope = null)
    {
        using var response = await RequestTokenAsync(client.Client.ClientId, client.Secret, scope);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("access_token").GetString()!;
    }

    /// <summary>An HTTP client for <c>/api/v1</c> with this bearer token.</summary>
    public HttpClient Api(string token)
    {
        var http = Http();
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        return http;
    }

    public async Task<HttpClient> ApiAsync(Guid tenantId, params string[] scopes) => Api(await TokenAsync(await ClientAsync(tenantId, scopes)));
}
