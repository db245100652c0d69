using Lanes.Billing.Keys;
using Lanes.Billing.Usage;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Keys;

public class KeyServiceTests(BillingHost host) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task Budget_changes_and_a_revocation_racing_usage_flushes_are_applied_not_refused()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant, budget: 10m);
        var keys = host.Get<KeyService>();
        var recorder = host.Get<UsageRecorder>();
        using var stop = new CancellationTokenSource();

        // A gateway flushing usage for the key without pause, as it does every second under load.
        var recorded = 0;
        async Task FlushUntilStopped()
        {
            while (!stop.IsCancellationRequested)
            {
                await recorder.RecordAsync(Batch(tenant.Id, issued.Key));
                Interlocked.Increment(ref recorded);
            }
        }

        var flusher = Task.Run(FlushUntilStopped);
        try
        {
            // Two people editing the budget at once as well: every edit lands, none is refused as a conflict.
            await Task.WhenAll(Enumerable.Range(0, 2).Select(person => Task.Run(async () =>
            {
                for (var i = 1; i <= 15; i++)
                {
                    await keys.ChangeBudgetAsync(tenant.Id, issued.Key.Id, 10m + person * 10 + i, "owner");
                }
            })));
            await keys.ChangeBudgetAsync(tenant.Id, issued.Key.Id, 30m, "owner");

            await keys.RevokeAsync(tenant.Id, issued.Key.Id, RevocationReason.User, "owner");
        }
        finally
        {
            await stop.CancelAsync();
            await flusher;
        }

        var key = await keys.FindAsync(tenant.Id, issued.Key.Id);
        Assert.Equal(KeyState.Revoked, key!.State);
        Assert.Equal(30m, key.BudgetUsd);
        Assert.Equal(recorded, key.WindowRequests);
        await using var events = host.Store.QuerySession(Lanes.Billing.Tenants.Tenant.MartenTenantOf(tenant.Id));
        Assert.Equal(31, (await events.Events.FetchStreamAsync(issued.Key.Id)).Count(e => e.Data is KeyBudgetChanged));
    }

    private static UsageBatch Batch(Guid tenantId, ApiKey key) => new(Guid.NewGuid(), "gateway-test",
    [
        new UsageLine(tenantId, key.Id, "lanes-demo", key.WindowStart, key.WindowStart,
            Requests: 1, InputTokens: 10, OutputTokens: 5, SpendUsd: 0.001m, Throttled: 0),
    ]);
}
