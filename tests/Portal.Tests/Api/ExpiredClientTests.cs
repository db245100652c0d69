using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Portal.Api.Auth;
using Microsoft.Extensions.Time.Testing;

namespace Lanes.Portal.Tests.Api;

/// <summary>The portal on a fake clock, so a client can expire without waiting.</summary>
public sealed class PortalOnFakeClock : PortalOnKestrel
{
    private readonly FakeTimeProvider _clock = new(DateTimeOffset.UtcNow);

    public override FakeTimeProvider? Clock => _clock;
}

[Collection(PortalHosts.Name)]
public class ExpiredClientTests(PortalOnFakeClock portal) : IClassFixture<PortalOnFakeClock>
{
    [Fact]
    public async Task An_expired_clients_token_stops_working_and_it_gets_no_new_one()
    {
        var clock = portal.Clock!;
        var client = await portal.ClientAsync(await portal.TenantAsync(), [ManagementScopes.KeysRead], expiresAt: clock.GetUtcNow().AddMinutes(3));

        using var issued = await portal.RequestTokenAsync(client.Client.ClientId, client.Secret);
        var token = await issued.Content.ReadFromJsonAsync<JsonElement>();
        // The token never outlives the client (3 minutes, not the usual 10).
        Assert.InRange(token.GetProperty("expires_in").GetInt32(), 1, 180);
        using var api = portal.Api(token.GetProperty("access_token").GetString()!);
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/keys")).StatusCode);

        clock.Advance(TimeSpan.FromMinutes(3));

        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/v1/keys")).StatusCode);
        using var again = await portal.RequestTokenAsync(client.Client.ClientId, client.Secret);
        Assert.Equal("invalid_client", (await again.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_token_expires_after_its_lifetime()
    {
        var client = await portal.ClientAsync(await portal.TenantAsync(), [ManagementScopes.KeysRead]);
        using var api = portal.Api(await portal.TokenAsync(client));
        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/keys")).StatusCode);

        portal.Clock!.Advance(TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(1));

        Assert.Equal(HttpStatusCode.Unauthorized, (await api.GetAsync("/api/v1/keys")).StatusCode);
    }
}
