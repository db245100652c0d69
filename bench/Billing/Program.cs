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

// ---- 1. Usage ingest (G8): a fleet of gateways flushing at once, each batch also retried once while the original is
// in flight, against COPY of the same lines into a plain table with no key, no check and no roll-up (the least any
// recording can cost) in the same run.
var window = new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);
var hour = new DateTimeOffset(2026, 11, 2, 10, 0, 0, TimeSpan.Zero);
var rng = new Random(7);
var recorder = host.Get<UsageRecorder>();
var database = host.Get<Npgsql.NpgsqlDataSource>();
const int Gateways = 10;
var activePerGateway = Math.Min(2_000, keys.Count / Gateways);
UsageBatch Flush(int gateway) => new(Guid.NewGuid(), $"gateway-{gateway}", [.. keys.Skip(gateway * activePerGateway).Take(activePerGateway)
    .Select(k => new UsageLine(k.Tenant, k.Key, "lanes-demo", window, hour, 3, 600, 300, 0.00018m, 0, UsageDetail.Served(TimeSpan.FromMilliseconds(3), TimeSpan.FromSeconds(1))))]);

async Task<(double LinesPerSecond, int Duplicates)> IngestAsync(int rounds, bool retryEach)
{
    var flushes = Enumerable.Range(0, rounds).SelectMany(_ => Enumerable.Range(0, Gateways).Select(Flush)).ToList();
    var timer = Stopwatch.StartNew();
    var outcomes = await Task.WhenAll(Enumerable.Range(0, Gateways).Select(g => Task.Run(async () =>
    {
        var refused = 0;
        foreach (var batch in flushes.Where(f => f.Source == $"gateway-{g}"))
        {
            var sent = retryEach ? await Task.WhenAll(recorder.RecordAsync(batch), recorder.RecordAsync(batch)) : [await recorder.RecordAsync(batch)];
            refused += sent.Count(recorded => !recorded);
        }

        return refused;
    })));
    return (flushes.Sum(f => f.Lines.Count) / timer.Elapsed.TotalSeconds, outcomes.Sum());
}

async Task<double> CopyAsync(int rounds)
{
    await using (var create = database.CreateCommand("create table if not exists lanes.bench_usage_copy (batch_id uuid, tenant_id uuid, key_id uuid, model text, " +
                                                            "window_start timestamptz, hour_start timestamptz, requests bigint, input_tokens bigint, output_tokens bigint, spend_usd numeric, throttled bigint)"))
    {
        await create.ExecuteNonQueryAsync();
    }

    var flushes = Enumerable.Range(0, rounds).SelectMany(_ => Enumerable.Range(0, Gateways).Select(Flush)).ToList();
    var timer = Stopwatch.StartNew();
    await Task.WhenAll(Enumerable.Range(0, Gateways).Select(g => Task.Run(async () =>
    {
        foreach (var batch in flushes.Where(f => f.Source == $"gateway-{g}"))
        {
            await using var connection = await database.OpenConnectionAsync();
            await using var copy = await connection.BeginBinaryImportAsync("copy lanes.bench_usage_copy from stdin (format binary)");
            foreach (var l in batch.Lines)
            {
                await copy.StartRowAsync();
                await copy.WriteAsync(batch.BatchId);
                await copy.WriteAsync(l.TenantId);
                await copy.WriteAsync(l.KeyId);
                await copy.WriteAsync(l.Model);
                await copy.WriteAsync(l.WindowStart.UtcDateTime, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(l.HourStart.UtcDateTime, NpgsqlTypes.NpgsqlDbType.TimestampTz);
                await copy.WriteAsync(l.Requests);
                await copy.WriteAsync(l.InputTokens);
                await copy.WriteAsync(l.OutputTokens);
                await copy.WriteAsync(l.SpendUsd);
                await copy.WriteAsync(l.Throttled);
            }

            await copy.CompleteAsync();
        }
    })));
    return flushes.Sum(f => f.Lines.Count) / timer.Elapsed.TotalSeconds;
}

// Warm both paths up (JIT, connection pool, plans) before either is timed.
await CopyAsync(1);
await IngestAsync(1, retryEach: false);
var copyRate = await CopyAsync(5);
var (ingestRate, _) = await IngestAsync(5, retryEach: false);
var (retriedRate, duplicates) = await IngestAsync(5, retryEach: true);
Console.WriteLine($"usage ingest: {Gateways} gateways at once, {activePerGateway:N0} key-lines per flush: {ingestRate:N0} key-lines/s " +
                  $"(aim >= 20,000); COPY of the same lines into a bare table baseline {copyRate:N0}/s; ratio {ingestRate / copyRate:F2}");
Console.WriteLine($"usage ingest with every flush sent twice at once: {retriedRate:N0} key-lines/s recorded; {duplicates} duplicates refused (expected {5 * Gateways})");

// Exactly once: every active key was recorded in 1 + 5 + 5 flushes of its gateway (the retries refused), 3 requests each.
await using (var check = database.CreateCommand(
                 "select count(*), count(*) filter (where requests = $1), sum(requests) from lanes.usage_key_windows where window_start = $2"))
{
    check.Parameters.Add(new Npgsql.NpgsqlParameter { Value = 3L * 11 });
    check.Parameters.Add(new Npgsql.NpgsqlParameter { Value = window.UtcDateTime });
    await using var reader = await check.ExecuteReaderAsync();
    await reader.ReadAsync();
    Console.WriteLine($"exactly once: {reader.GetInt64(1):N0} of {reader.GetInt64(0):N0} key windows hold exactly 11 flushes' requests ({reader.GetDecimal(2):N0} requests in all)");
}

// The shape measured before (one gateway, 50 key-lines per batch, one after another), for comparison with history.
var small = Enumerable.Range(0, 200).Select(_ => new UsageBatch(Guid.NewGuid(), "bench", [.. Enumerable.Range(0, 50)
    .Select(_ => keys[rng.Next(keys.Count)]).DistinctBy(k => k.Key)
    .Select(k => new UsageLine(k.Tenant, k.Key, "lanes-demo", window, hour, 1, 200, 100, 0.00006m, 0))])).ToList();
var sw = Stopwatch.StartNew();
foreach (var batch in small)
{
    await recorder.RecordAsync(batch);
}

Console.WriteLine($"usage batches one after another (50 lines each): {small.Count / sw.Elapsed.TotalSeconds:F0} batches/s ({small.Sum(b => b.Lines.Count) / sw.Elapsed.TotalSeconds:F0} key-lines/s)");

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
