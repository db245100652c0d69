using Lanes.Billing.Keys;
using Lanes.Billing.Usage;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Usage;

public class UsageRecorderTests(BillingHost host) : IClassFixture<BillingHost>
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

        var tenHundred = new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero);
        var report = await host.Get<UsageReports>().ForTenantAsync(tenant.Id, new UsageQuery(tenHundred, tenHundred, UsageGranularity.Hour, issued.Key.Id));
        var hour = Assert.Single(report.Points);
        Assert.Equal((6L, 200L, 100L, 3m), (hour.Requests, hour.InputTokens, hour.OutputTokens, hour.SpendUsd));
        Assert.Equal(tenHundred, hour.Start);
        Assert.Equal(1, hour.RequestsByApi[(int)ApiDoor.Messages]);
    }

    [Fact]
    public async Task Two_gateways_flushing_the_same_hour_keep_the_larger_peak_of_lanes_in_use()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant);
        var recorder = host.Get<UsageRecorder>();
        UsageBatch Peak(int lanes)
        {
            var batch = Batch(tenant.Id, issued.Key, spend: 1m);
            return batch with { Lines = [batch.Lines[0] with { Detail = UsageDetail.Served(TimeSpan.Zero, TimeSpan.FromSeconds(1)) with { PeakLanes = lanes } }] };
        }

        await recorder.RecordAsync(Peak(4));
        await recorder.RecordAsync(Peak(2));

        var tenHundred = new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero);
        var report = await host.Get<UsageReports>().ForTenantAsync(tenant.Id, new UsageQuery(tenHundred, tenHundred, UsageGranularity.Hour, issued.Key.Id));
        Assert.Equal(4, Assert.Single(report.Points).PeakLanes);
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
    public async Task Concurrent_flushes_of_overlapping_keys_and_retries_of_the_same_batch_count_each_line_exactly_once()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var keys = new List<ApiKey>();
        for (var i = 0; i < 6; i++)
        {
            keys.Add((await host.KeyFor(tenant, budget: 100m)).Key);
        }

        // Twelve gateways flush at once, each touching every key in its own order (so their row locks cross), and
        // each batch is sent twice, the retry racing the original.
        var batches = Enumerable.Range(0, 12).Select(g => new UsageBatch(Guid.NewGuid(), $"gateway-{g}",
            [.. keys.Select((k, i) => keys[(i + g) % keys.Count]).Select(k => new UsageLine(tenant.Id, k.Id, "lanes-demo", k.WindowStart, k.WindowStart, 1, 10, 5, 0.01m, 0))])).ToList();
        var recorder = host.Get<UsageRecorder>();
        var outcomes = await Task.WhenAll(batches.Concat(batches).Select(b => Task.Run(() => recorder.RecordAsync(b))));

        Assert.Equal(12, outcomes.Count(recorded => recorded));
        foreach (var key in await host.Get<KeyService>().ListAsync(tenant.Id))
        {
            Assert.Equal((12L, 0.12m, 120L), (key.WindowRequests, key.WindowSpentUsd, key.WindowInputTokens));
        }
    }

    [Fact]
    public async Task Usage_counts_in_the_window_it_was_metered_in_including_the_next_one_before_the_key_rolls()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var key = (await host.KeyFor(tenant, budget: 10m)).Key;
        var recorder = host.Get<UsageRecorder>();
        UsageBatch In(DateTimeOffset window, decimal spend) => new(Guid.NewGuid(), "gateway-test",
            [new UsageLine(tenant.Id, key.Id, "lanes-demo", window, window, 2, 10, 5, spend, 0)]);

        await recorder.RecordAsync(In(key.WindowStart, 1m));
        await recorder.RecordAsync(In(key.WindowStart - key.WindowLength, 3m)); // late, for the window before
        await recorder.RecordAsync(In(key.WindowEnd, 2m)); // early, for the next window, before the job rolls the key

        var now = (await host.Get<KeyService>().FindAsync(tenant.Id, key.Id))!;
        Assert.Equal((1m, 2L, 9m), (now.WindowSpentUsd, now.WindowRequests, now.RemainingUsd));
        Assert.Equal(new Lanes.Billing.GatewayContract.WindowSpend(key.WindowEnd, 2m), now.ToStatus().RecordedAhead);
        Assert.NotNull(now.LastUsedAt);

        var rolled = now.Apply(KeyDecisions.RollWindow(now, key.WindowEnd.AddMinutes(1))!);
        Assert.Equal((key.WindowEnd, 2m, 2L), (rolled.WindowStart, rolled.WindowSpentUsd, rolled.WindowRequests));
        Assert.Equal([2m, 1m, 3m], (await host.Get<KeyUsage>().WindowsOfAsync(tenant.Id, key.Id)).Select(w => w.SpentUsd));
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
