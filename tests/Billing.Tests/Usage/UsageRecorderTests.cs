using Lanes.Billing.Keys;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Lanes.Testing;
using Marten;
using Marten.Events;

namespace Lanes.Billing.Tests.Usage;

/// <summary>Billing with the async projection daemon running, as in the portal.</summary>
public sealed class BillingWithProjections : BillingHost
{
    protected override BillingRole Role => BillingRole.Projections;
}

public class UsageRecorderTests(BillingWithProjections host) : IClassFixture<BillingWithProjections>
{
    [Fact]
    public async Task A_batch_recorded_twice_counts_once()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant, budget: 10m);
        var batch = Batch(tenant.Id, issued.Key, spend: 1.25m);
        var recorder = host.Get<UsageRecorder>();

        Assert.True(await recorder.RecordAsync(batch));
        Assert.False(await recorder.RecordAsync(batch));
        var concurrentRetries = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => recorder.RecordAsync(batch)));

        Assert.All(concurrentRetries, Assert.False);
        var key = await host.Get<KeyService>().FindAsync(tenant.Id, issued.Key.Id);
        Assert.Equal(1.25m, key!.WindowSpentUsd);
        Assert.Equal(3, key.WindowRequests);
        Assert.Equal(8.75m, key.RemainingUsd);
    }

    [Fact]
    public async Task Usage_for_a_key_of_another_tenant_is_not_recorded_against_it()
    {
        var a = await host.TenantWithActiveSubscription();
        var b = await host.TenantWithActiveSubscription();
        var keyOfA = await host.KeyFor(a);

        await host.Get<UsageRecorder>().RecordAsync(Batch(b.Id, keyOfA.Key, spend: 5m));

        Assert.Equal(0m, (await host.Get<KeyService>().FindAsync(a.Id, keyOfA.Key.Id))!.WindowSpentUsd);
    }

    [Fact]
    public async Task Usage_rolls_up_per_hour_key_and_model_for_charts()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant);
        await host.Get<UsageRecorder>().RecordAsync(Batch(tenant.Id, issued.Key, spend: 1m));
        await host.Get<UsageRecorder>().RecordAsync(Batch(tenant.Id, issued.Key, spend: 2m));

        await host.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));

        await using var query = host.Store.QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var hour = Assert.Single(await query.Query<UsageHour>().Where(h => h.KeyId == issued.Key.Id).ToListAsync());
        Assert.Equal((6L, 200L, 100L, 3m), (hour.Requests, hour.InputTokens, hour.OutputTokens, hour.SpendUsd));
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero), hour.HourStart);
    }

    [Fact]
    public async Task Negative_counts_are_refused()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant);
        var bad = Batch(tenant.Id, issued.Key, spend: -1m);

        Assert.Equal("invalid_batch", (await Assert.ThrowsAsync<RuleViolation>(() => host.Get<UsageRecorder>().RecordAsync(bad))).Code);
    }

    private UsageBatch Batch(Guid tenantId, ApiKey key, decimal spend) => new(Guid.NewGuid(), "gateway-test",
    [
        new UsageLine(tenantId, key.Id, "lanes-demo", key.WindowStart, new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero),
            Requests: 3, InputTokens: 100, OutputTokens: 50, SpendUsd: spend, Throttled: 0),
    ]);
}
