using System.Net;
using System.Net.Http.Headers;
using Lanes.Billing.Keys;
using Lanes.Billing.Tenants;
using Lanes.Inference.Auth;
using Lanes.Testing;
using Marten;
using Marten.Services;
using Npgsql;

namespace Lanes.Inference.Tests.Auth;

public class LateCommitTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    private async Task<HttpStatusCode> StatusAsync(string secret)
    {
        using var http = gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    [Fact]
    public async Task A_revocation_committed_after_thousands_of_later_usage_events_still_stops_the_key_within_two_seconds()
    {
        var (tenant, revoked) = await gateway.TenantWithKey("pro");
        var busy = await gateway.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("busy", 5m), "test");
        var store = gateway.Get<IDocumentStore>();

        // The revocation takes its sequence number now and commits last, as a slow transaction would.
        await using var connection = await gateway.Get<NpgsqlDataSource>().OpenConnectionAsync();
        await using var slow = await connection.BeginTransactionAsync();
        var options = SessionOptions.ForTransaction(slow, shouldAutoCommit: false);
        options.TenantId = Tenant.MartenTenantOf(tenant.Id);
        await using (var session = store.LightweightSession(options))
        {
            session.Events.Append(revoked.Key.Id, new ApiKeyRevoked(revoked.Key.Id, RevocationReason.Staff, "staff-1", DateTimeOffset.UtcNow));
            await session.SaveChangesAsync();
        }

        // Meanwhile 2,000 usage events of another key commit above it, and the gateway reads past them.
        await using (var session = store.LightweightSession(Tenant.MartenTenantOf(tenant.Id)))
        {
            var hour = new DateTimeOffset(DateTimeOffset.UtcNow.UtcDateTime.Date, TimeSpan.Zero);
            session.Events.Append(busy.Key.Id, Enumerable.Range(0, 2_000).Select(_ => (object)new UsageRecorded(
                busy.Key.Id, Guid.NewGuid(), "scripted", busy.Key.WindowStart, hour, 1, 1, 1, 0m, 0, DateTimeOffset.UtcNow)).ToArray());
            await session.SaveChangesAsync();
        }

        var refresher = gateway.Get<KeyDirectoryRefresher>();
        await Eventually.Get(() => Task.FromResult(refresher.OpenGaps), n => n > 0, TimeSpan.FromSeconds(5), "the gateway to read past the open revocation");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(revoked.Secret));

        await slow.CommitAsync();

        await Eventually.Get(() => StatusAsync(revoked.Secret), s => s == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(2), "the late revocation to reach the gateway");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(busy.Secret));
    }
}
