using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Api.Clients;

namespace Lanes.Portal.Tests.Api.Auth;

/// <summary>The client-credentials flow at /connect/token and how /api/v1 admits its tokens, over real HTTP.</summary>
[Collection(PortalHosts.Name)]
public class ManagementAuthTests(PortalOnKestrel portal) : IClassFixture<PortalOnKestrel>
{
    private static readonly string[] AllScopes = [.. ManagementScopes.All];

    [Fact]
    public async Task A_token_is_issued_for_valid_credentials_and_refused_for_invalid_ones()
    {
        var client = await portal.ClientAsync(await portal.TenantAsync(), [ManagementScopes.KeysRead]);

        using var issued = await portal.RequestTokenAsync(client.Client.ClientId, client.Secret);
        Assert.Equal(HttpStatusCode.OK, issued.StatusCode);
        var token = await issued.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Bearer", token.GetProperty("token_type").GetString());
        Assert.InRange(token.GetProperty("expires_in").GetInt32(), 1, 600);
        Assert.False(string.IsNullOrEmpty(token.GetProperty("access_token").GetString()));

        using var wrongSecret = await portal.RequestTokenAsync(client.Client.ClientId, client.Secret + "x");
        Assert.Equal(HttpStatusCode.Unauthorized, wrongSecret.StatusCode);
        Assert.Equal("invalid_client", (await wrongSecret.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        using var unknown = await portal.RequestTokenAsync("lanes_mc_nobody", client.Secret);
        Assert.Contains(unknown.StatusCode, new[] { HttpStatusCode.BadRequest, HttpStatusCode.Unauthorized });
        Assert.Equal("invalid_client", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());

        using var notGranted = await portal.RequestTokenAsync(client.Client.ClientId, client.Secret, ManagementScopes.KeysWrite);
        Assert.Equal(HttpStatusCode.BadRequest, notGranted.StatusCode);
        var refusal = await notGranted.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("invalid_request", refusal.GetProperty("error").GetString());
        Assert.Contains("not allowed to use the specified scope", refusal.GetProperty("error_description").GetString());
    }

    [Fact]
    public async Task Without_a_valid_token_the_api_answers_401_problem_details()
    {
        using var anonymous = portal.Http();
        using var none = await anonymous.GetAsync("/api/v1/keys");
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal("application/problem+json", none.Content.Headers.ContentType?.MediaType);
        Assert.StartsWith("Bearer", none.Headers.WwwAuthenticate.ToString());

        using var forged = portal.Api("not-a-token");
        using var refused = await forged.GetAsync("/api/v1/keys");
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        Assert.Contains("invalid_token", refused.Headers.WwwAuthenticate.ToString());
    }

    public static TheoryData<string, string, string> Endpoints => new()
    {
        { ManagementScopes.KeysRead, "GET", "/api/v1/keys" },
        { ManagementScopes.KeysWrite, "POST", "/api/v1/keys" },
        { ManagementScopes.UsageRead, "GET", "/api/v1/usage" },
        { ManagementScopes.BillingRead, "GET", "/api/v1/subscription" },
        { ManagementScopes.BillingRead, "GET", "/api/v1/lanes" },
    };

    [Theory]
    [MemberData(nameof(Endpoints))]
    public async Task Each_scope_is_enforced(string scope, string method, string path)
    {
        var tenant = await portal.TenantAsync();
        using var without = await portal.ApiAsync(tenant, [.. AllScopes.Where(s => s != scope)]);
        using var refused = await without.SendAsync(Request(method, path));
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal("application/problem+json", refused.Content.Headers.ContentType?.MediaType);
        Assert.Contains($"scope=\"{scope}\"", refused.Headers.WwwAuthenticate.ToString());

        // A client holding every scope but asking for fewer gets a token with only those.
        var full = await portal.ClientAsync(tenant, AllScopes);
        using var narrowed = portal.Api(await portal.TokenAsync(full, string.Join(' ', AllScopes.Where(s => s != scope))));
        Assert.Equal(HttpStatusCode.Forbidden, (await narrowed.SendAsync(Request(method, path))).StatusCode);

        using var with = await portal.ApiAsync(tenant, scope);
        using var allowed = await with.SendAsync(Request(method, path));
        Assert.True(allowed.IsSuccessStatusCode, $"{method} {path} with {scope}: {(int)allowed.StatusCode} {await allowed.Content.ReadAsStringAsync()}");
    }

    [Fact]
    public async Task A_revoked_clients_token_stops_working_and_it_gets_no_new_one()
    {
        var tenant = await portal.TenantAsync();
        var client = await portal.ClientAsync(tenant, [ManagementScopes.KeysRead]);
        using var api = portal.Api(await portal.TokenAsync(client));
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/keys")).StatusCode);

        var revoked = await portal.Get<ManagementClientService>().RevokeAsync(tenant, client.Client.ClientId, "user-1");
        Assert.NotNull(revoked.RevokedAt);

        using var after = await api.GetAsync("/api/v1/keys");
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        Assert.Contains("revoked or expired", await after.Content.ReadAsStringAsync());
        using var again = await portal.RequestTokenAsync(client.Client.ClientId, client.Secret);
        Assert.Equal("invalid_client", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
        Assert.Contains(await portal.Get<ManagementClientService>().ListAsync(tenant), c => c.ClientId == client.Client.ClientId && c.RevokedAt is not null);
    }

    [Fact]
    public async Task Another_tenant_cannot_revoke_a_client()
    {
        var owner = await portal.TenantAsync();
        var client = await portal.ClientAsync(owner, [ManagementScopes.KeysRead]);
        var intruder = await portal.TenantAsync();
        await Assert.ThrowsAsync<Lanes.Billing.NotFound>(() =>
            portal.Get<ManagementClientService>().RevokeAsync(intruder, client.Client.ClientId, "intruder"));
        using var api = portal.Api(await portal.TokenAsync(client));
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/keys")).StatusCode);
    }

    [Fact]
    public async Task A_client_needs_a_name_and_known_scopes()
    {
        var tenant = await portal.TenantAsync();
        var clients = portal.Get<ManagementClientService>();
        Assert.Equal("invalid_scopes", (await Assert.ThrowsAsync<Lanes.Billing.RuleViolation>(() => clients.CreateAsync(tenant, new ClientRequest("ci", ["keys:delete"]), "u"))).Code);
        Assert.Equal("invalid_scopes", (await Assert.ThrowsAsync<Lanes.Billing.RuleViolation>(() => clients.CreateAsync(tenant, new ClientRequest("ci", []), "u"))).Code);
        Assert.Equal("invalid_name", (await Assert.ThrowsAsync<Lanes.Billing.RuleViolation>(() => clients.CreateAsync(tenant, new ClientRequest(" ", [ManagementScopes.KeysRead]), "u"))).Code);
    }

    private static HttpRequestMessage Request(string method, string path) => new(new HttpMethod(method), path)
    {
        Content = method == "POST" ? JsonContent.Create(new { name = "scoped" }) : null,
    };
}
