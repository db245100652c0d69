using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Tests.Api;

namespace Lanes.Portal.Tests.Security;

[Collection(PortalHosts.Name)]
public class IdempotencyAcrossClientsTests(PortalOnKestrel portal) : IClassFixture<PortalOnKestrel>
{
    [Fact]
    public async Task A_second_client_sending_the_same_Idempotency_Key_gets_its_own_key_never_the_first_clients_secret()
    {
        var tenant = await portal.TenantAsync();
        using var first = await portal.ApiAsync(tenant, ManagementScopes.KeysWrite);
        using var second = await portal.ApiAsync(tenant, ManagementScopes.KeysWrite);
        var idempotencyKey = "nightly-ci-key"; // what two scripts written from one example would both send

        using var mine = await first.SendAsync(CreateKey(idempotencyKey));
        using var theirs = await second.SendAsync(CreateKey(idempotencyKey));
        using var myRetry = await first.SendAsync(CreateKey(idempotencyKey));

        Assert.Equal((HttpStatusCode.Created, HttpStatusCode.Created), (mine.StatusCode, theirs.StatusCode));
        Assert.False(theirs.Headers.Contains("Idempotent-Replayed"));
        var (a, b) = (await mine.Content.ReadFromJsonAsync<JsonElement>(), await theirs.Content.ReadFromJsonAsync<JsonElement>());
        Assert.NotEqual(a.GetProperty("secret").GetString(), b.GetProperty("secret").GetString());

        // The first client's own retry is still answered from its stored response.
        Assert.True(myRetry.Headers.Contains("Idempotent-Replayed"));
        Assert.Equal(a.GetProperty("secret").GetString(), (await myRetry.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString());
    }

    private static HttpRequestMessage CreateKey(string idempotencyKey)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/keys") { Content = JsonContent.Create(new { name = "ci", budget_usd = 1 }) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return request;
    }
}
