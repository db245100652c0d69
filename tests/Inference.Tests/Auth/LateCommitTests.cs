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

public class LateCommitTests(GatewayOnKestrel gateway, Xunit.Abstractions.ITestOutputHelper output) : IClassFixture<GatewayOnKestrel>
{
    private async Task<HttpStatusCode> StatusAsync(string secret)
    {
        using var http = gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>Issue 16: a revocation committed 300 ms late while other keys' events commit as fast as billing takes
    /// them (thousands a second, above it in the sequence), and keep coming after it.</summary>
    [Fact]
    public async Task A_revocation_committed_late_under_a_stream_of_other_events_still_stops_the_key_within_two_seconds()
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

        // Meanwhile events of another key commit above it, 250 to a transaction, one after the other.
        var late = System.Diagnostics.Stopwatch.StartNew();
        using var stop = new CancellationTokenSource();
        var appended = 0L;
        var usage = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await using var session = store.LightweightSession(Tenant.MartenTenantOf(tenant.Id));
                session.Events.Append(busy.Key.Id, Enumerable.Range(0, 250).Select(i => (object)new KeyBudgetChanged(
                    busy.Key.Id, 5m, 5m + (i % 2), "test", DateTimeOffset.UtcNow)).ToArray());
                await session.SaveChangesAsync();
                Interlocked.Add(ref appended, 250);
            }
        });

        var refresher = gateway.Get<KeyDirectoryRefresher>();
        await Eventually.Get(() => Task.FromResult((refresher.OpenGaps, late.Elapsed, Interlocked.Read(ref appended))),
            r => r.OpenGaps > 0 && r.Elapsed >= TimeSpan.FromMilliseconds(300) && r.Item3 >= 1_000, TimeSpan.FromSeconds(10),
            "the gateway to read past the open revocation for 300 ms and 1,000 other events");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(revoked.Secret));

        await slow.CommitAsync();
        var committedAt = late.Elapsed;
        var beforeCommit = Interlocked.Read(ref appended);

        await Eventually.Get(() => StatusAsync(revoked.Secret), s => s == HttpStatusCode.Unauthorized, TimeSpan.FromSeconds(2), "the late revocation to reach the gateway");
        var refusedAfter = late.Elapsed - committedAt;
        await stop.CancelAsync();
        await usage;
        output.WriteLine($"revocation committed {committedAt.TotalMilliseconds:0} ms late behind {beforeCommit:N0} other events " +
                         $"({Interlocked.Read(ref appended) / late.Elapsed.TotalSeconds:N0} a second); refused {refusedAfter.TotalMilliseconds:0} ms after its commit");
        Assert.Equal(HttpStatusCode.OK, await StatusAsync(busy.Secret));
    }
}
