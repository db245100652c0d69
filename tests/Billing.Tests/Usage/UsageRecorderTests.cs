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
    public async Task A_backlog_is_recorded_in_one_go_and_not_at_all_when_one_of_its_batches_was_recorded_before()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant, budget: 10m);
        var recorder = host.Get<UsageRecorder>();
        var backlog = Enumerable.Range(0, 5).Select(_ => Batch(tenant.Id, issued.Key, spend: 0.5m)).ToList();
        var later = Enumerable.Range(0, 2).Select(_ => Batch(tenant.Id, issued.Key, spend: 0.25m)).ToList();

        Assert.True(await recorder.RecordAllAsync(backlog));
        Assert.False(await recorder.RecordAllAsync([later[0], backlog[4], later[1]]));

        var key = await host.Get<KeyService>().FindAsync(tenant.Id, issued.Key.Id);
        Assert.Equal(2.5m, key!.WindowSpentUsd);
        Assert.Equal(15, key.WindowRequests);
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
        var viaMessages = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromSeconds(1), ApiDoor.Messages);
        await host.Get<UsageRecorder>().RecordAsync(Batch(tenant.Id, issued.Key, spend: 1m) with { Lines = [Batch(tenant.Id, issued.Key, spend: 1m).Lines[0] with { Detail = viaMessages }] });
        await host.Get<UsageRecorder>().RecordAsync(Batch(tenant.Id, issued.Key, spend: 2m));

        await host.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));

        await using var query = host.Store.QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var hour = Assert.Single(await query.Query<UsageHour>().Where(h => h.KeyId == issued.Key.Id).ToListAsync());
        Assert.Equal((6L, 200L, 100L, 3m), (hour.Requests, hour.InputTokens, hour.OutputTokens, hour.SpendUsd));
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero), hour.HourStart);
        Assert.Equal(1, hour.Detail!.RequestsThrough(ApiDoor.Messages));
    }

    [Fact]
    public async Task Usage_reports_read_only_the_tenants_own_hours_and_narrow_by_key_and_model()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var other = await host.TenantWithActiveSubscription();
        var first = await host.KeyFor(tenant);
        var second = await host.KeyFor(tenant);
        var othersKey = await host.KeyFor(other);
        var detail = UsageDetail.Served(TimeSpan.FromMilliseconds(20), TimeSpan.FromSeconds(4)).Add(UsageDetail.Refused(RefusalCause.Budget));
        await host.Get<UsageRecorder>().RecordAsync(Batch(tenant.Id, first.Key, spend: 1m) with { Lines = [Batch(tenant.Id, first.Key, spend: 1m).Lines[0] with { Detail = detail }] });
        await host.Get<UsageRecorder>().RecordAsync(Batch(tenant.Id, second.Key, spend: 2m));
        await host.Get<UsageRecorder>().RecordAsync(Batch(other.Id, othersKey.Key, spend: 4m));
        await host.Store.WaitForNonStaleProjectionDataAsync(TimeSpan.FromSeconds(30));
        var day = new UsageQuery(new DateTimeOffset(2026, 11, 2, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2026, 11, 2, 23, 0, 0, TimeSpan.Zero), UsageGranularity.Day);
        var reports = host.Get<UsageReports>();

        var all = await reports.ForTenantAsync(tenant.Id, day);
        var firstOnly = await reports.ForTenantAsync(tenant.Id, day with { KeyId = first.Key.Id });
        var otherModel = await reports.ForTenantAsync(tenant.Id, day with { Model = "no-such-model" });
        var byOtherTenant = await reports.ForTenantAsync(other.Id, day with { KeyId = first.Key.Id });

        Assert.Equal(3m, all.SpendUsd);
        Assert.Equal((1m, 1L, 4.0, 0.025), (firstOnly.SpendUsd, firstOnly.Totals.BudgetRefusals, firstOnly.Totals.LaneSeconds, firstOnly.Totals.QueueWaitP95Seconds()));
        Assert.Equal(0, otherModel.Requests);
        Assert.Equal(0, byOtherTenant.Requests);
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
