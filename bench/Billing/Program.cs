using System.Diagnostics;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Lanes.Billing.Windows;
using Lanes.Shared.Keys;
using Lanes.Testing;
using Marten;
using Marten.Events;

// Billing benchmarks: each figure is printed next to a baseline measured in the same process on the same database,
// because these machines are noisy. Run with: ./lanes bench billing [keys]
var keyCount = args.Length > 0 && int.TryParse(args[0], out var k) ? k : 100_000;
const int Tenants = 100;

var host = new BenchHost();
await host.InitializeAsync();
var clock = host.Clock;
var store = host.Store;
Console.WriteLine($"Billing benchmarks: {keyCount:N0} keys over {Tenants} tenants, PostgreSQL at {host.ConnectionString.Split(';')[0..2].Aggregate((a, b) => a + ";" + b)}");

// ---- Setup: tenants with subscriptions, keys issued in bulk (one event per key, as IssueAsync writes).
var tenantIds = new List<Guid>();
for (var t = 0; t < Tenants; t++)
{
    var tenant = await host.Get<TenantService>().CreateAsync($"bench-{t}", $"Bench {t}", "bench");
    await host.Get<SubscriptionService>().StartAsync(tenant.Id, "starter", "bench");
    tenantIds.Add(tenant.Id);
}

var pepper = Convert.FromBase64String(host.Pepper);
var keys = new List<(Guid Tenant, Guid Key, string Hash)>(keyCount);
var setup = Stopwatch.StartNew();
foreach (var chunk in Enumerable.Range(0, keyCount).Chunk(2_000))
{
    await using var session = store.LightweightSession();
    foreach (var i in chunk)
    {
        var tenantId = tenantIds[i % Tenants];
        var secret = ApiKeySecret.Generate();
        var e = KeyDecisions.Issue(Guid.CreateVersion7(), tenantId, new KeyRequest($"k{i}", 5m), 5m, TimeSpan.FromHours(8),
            _ => true, ApiKeySecret.PrefixOf(secret), ApiKeySecret.Hash(secret, pepper), "bench", clock.GetUtcNow());
        session.ForTenant(Tenant.MartenTenantOf(tenantId)).Events.StartStream<ApiKey>(e.KeyId, e);
        keys.Add((tenantId, e.KeyId, e.SecretHash));
    }

    await session.SaveChangesAsync();
}

Console.WriteLine($"setup: {keyCount:N0} keys issued in {setup.Elapsed.TotalSeconds:F1} s");

// ---- 1. Usage batches: recorder (receipt + expected versions + inline key status) vs plain appends of the same events.
const int Batches = 200, LinesPerBatch = 50;
var rng = new Random(7);
var batchKeys = keys.Take(5_000).ToList();
UsageBatch MakeBatch() => new(Guid.NewGuid(), "bench", Enumerable.Range(0, LinesPerBatch).Select(_ =>
{
    var (tenant, key, _) = batchKeys[rng.Next(batchKeys.Count)];
    return new UsageLine(tenant, key, "lanes-demo", new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero),
        new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero), 1, 200, 100, 0.00006m, 0);
}).DistinctBy(l => l.KeyId).ToList());

async Task PlainAppendAsync(UsageBatch batch)
{
    await using var session = store.LightweightSession();
    foreach (var line in batch.Lines)
    {
        session.ForTenant(Tenant.MartenTenantOf(line.TenantId)).Events.Append(line.KeyId, new UsageRecorded(line.KeyId, batch.BatchId,
            line.Model, line.WindowStart, line.HourStart, 1, 200, 100, line.SpendUsd, 0, clock.GetUtcNow()));
    }

    await session.SaveChangesAsync();
}

// Warm both paths up (JIT, connection pool, plans) before either is timed.
var recorder = host.Get<UsageRecorder>();
var warmUp = Enumerable.Range(0, 20).Select(_ => MakeBatch()).ToList();
for (var i = 0; i < warmUp.Count; i += 2)
{
    await PlainAppendAsync(warmUp[i]);
    await recorder.RecordAsync(warmUp[i + 1]);
}

var baselineBatches = Enumerable.Range(0, Batches).Select(_ => MakeBatch()).ToList();
var sw = Stopwatch.StartNew();
foreach (var batch in baselineBatches)
{
    await PlainAppendAsync(batch);
}

var baselineRate = Batches / sw.Elapsed.TotalSeconds;
var measured = Enumerable.Range(0, Batches).Select(_ => MakeBatch()).ToList();
sw.Restart();
foreach (var batch in measured)
{
    await recorder.RecordAsync(batch);
}

var recordRate = Batches / sw.Elapsed.TotalSeconds;
var lines = measured.Sum(b => b.Lines.Count);
Console.WriteLine($"usage batches recorded: {recordRate:F0} batches/s ({recordRate * lines / Batches:F0} lines/s); " +
                  $"plain append baseline {baselineRate:F0} batches/s; ratio {recordRate / baselineRate:F2}");

sw.Restart();
using (var daemon = await store.BuildProjectionDaemonAsync())
{
    await daemon.StartAllAsync();
    await daemon.WaitForNonStaleData(TimeSpan.FromMinutes(5));
    await daemon.StopAllAsync();
}

var projectedEvents = lines + baselineBatches.Sum(b => b.Lines.Count) + warmUp.Sum(b => b.Lines.Count);
Console.WriteLine($"usage projected (async, per hour/key/model): {projectedEvents / sw.Elapsed.TotalSeconds:F0} events/s ({projectedEvents:N0} events in {sw.Elapsed.TotalSeconds:F1} s)");

// ---- 2. Key-status lookups by hash from the projection vs loads by primary key.
const int Lookups = 5_000;
var probe = Enumerable.Range(0, Lookups).Select(_ => keys[rng.Next(keys.Count)]).ToList();
sw.Restart();
await using (var query = store.QuerySession())
{
    foreach (var (tenant, key, _) in probe)
    {
        await query.ForTenant(Tenant.MartenTenantOf(tenant)).LoadAsync<ApiKey>(key);
    }
}

var byIdRate = Lookups / sw.Elapsed.TotalSeconds;
sw.Restart();
await using (var query = store.QuerySession())
{
    foreach (var (_, _, hash) in probe)
    {
        await query.Query<ApiKey>().Where(x => x.AnyTenant() && x.SecretHash == hash).SingleAsync();
    }
}

var byHashRate = Lookups / sw.Elapsed.TotalSeconds;
Console.WriteLine($"key-status lookups by hash: {byHashRate:F0}/s (one connection); by primary key baseline {byIdRate:F0}/s; ratio {byHashRate / byIdRate:F2}");

// ---- 3. The window job over every key vs plain appends of one event per key in the same pages.
clock.Advance(TimeSpan.FromHours(8));
sw.Restart();
var closed = await host.Get<WindowRoller>().RollDueWindowsAsync();
var rollSeconds = sw.Elapsed.TotalSeconds;

sw.Restart();
foreach (var chunk in keys.Chunk(WindowRoller.PageSize))
{
    await using var session = store.LightweightSession();
    foreach (var (tenant, key, _) in chunk)
    {
        session.ForTenant(Tenant.MartenTenantOf(tenant)).Events.Append(key, new KeyBudgetChanged(key, 5m, 5m, "bench", clock.GetUtcNow()));
    }

    await session.SaveChangesAsync();
}

var appendSeconds = sw.Elapsed.TotalSeconds;
Console.WriteLine($"window job: {closed:N0} windows closed and reopened in {rollSeconds:F1} s ({closed / rollSeconds:F0} keys/s; aim < 60 s for 100,000); " +
                  $"plain sequential append of one event per key baseline {appendSeconds:F1} s; ratio {rollSeconds / appendSeconds:F2}");

await host.DisposeAsync();

internal sealed class BenchHost : BillingHost
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Capacity:TotalLanes", "100000")];
}
