using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Portal.Api.Auth;
using Microsoft.Extensions.Time.Testing;

namespace Lanes.Portal.Tests.Api.Auth;

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

    [Fact]
    public async Task Stored_idempotent_responses_are_kept_a_day_then_pruned()
    {
        var tenant = await portal.TenantAsync();
        var client = await portal.ClientAsync(tenant, [ManagementScopes.KeysWrite]);
        using var api = portal.Api(await portal.TokenAsync(client));
        var idempotencyKey = Guid.NewGuid().ToString();
        using var created = await api.SendAsync(CreateKey(idempotencyKey));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var pruner = portal.Get<Lanes.Portal.Api.Idempotency.IdempotencyPruner>();

        // (The hourly pruner also runs on the fake clock as it advances; the test prunes explicitly too.)
        portal.Clock!.Advance(TimeSpan.FromHours(23));
        await pruner.PruneAsync(CancellationToken.None);
        using var later = portal.Api(await portal.TokenAsync(client)); // the first token has expired
        using var replayed = await later.SendAsync(CreateKey(idempotencyKey));
        Assert.True(replayed.Headers.Contains("Idempotent-Replayed"));

        portal.Clock.Advance(TimeSpan.FromHours(2));
        await pruner.PruneAsync(CancellationToken.None);
        using var scope = portal.Services.CreateScope();
        Assert.Empty(await scope.ServiceProvider.GetRequiredService<Lanes.Portal.Identity.IdentityStore>().IdempotencyRecords
            .Where(r => r.TenantId == tenant).ToListAsync());
    }

    private static HttpRequestMessage CreateKey(string idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/keys") { Content = JsonContent.Create(new { name = "daily", budget_usd = 1.5 }) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return request;
    }
}
