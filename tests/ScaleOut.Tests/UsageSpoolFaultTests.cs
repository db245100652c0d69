using System.Net;
using System.Text.Json;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Lanes.Testing;

namespace Lanes.ScaleOut.Tests;

/// <summary>Billing in the test process on a database of its own; the gateway runs as a process whose database
/// connection goes through a proxy the test cuts.</summary>
public sealed class DatabaseToCut : BillingHost
{
    protected override bool RealClock => true;

    protected override BillingRole Role => BillingRole.Services;
}

public sealed class UsageSpoolFaultTests : IAsyncLifetime
{
    private readonly DatabaseToCut _billing = new();
    private readonly string _spool = Directory.CreateTempSubdirectory("lanes-spool-test-").FullName;
    private readonly string _snapshot = Path.Combine(Directory.CreateTempSubdirectory("lanes-keys-test-").FullName, "keys.json");
    private TcpProxy? _proxy;

    public async Task InitializeAsync()
    {
        await _billing.InitializeAsync();
        _proxy = TcpProxy.Start(new Npgsql.NpgsqlConnectionStringBuilder(_billing.ConnectionString).Port);
    }

    public async Task DisposeAsync()
    {
        await _proxy!.DisposeAsync();
        await _billing.DisposeAsync();
        Directory.Delete(_spool, recursive: true);
        Directory.Delete(Path.GetDirectoryName(_snapshot)!, recursive: true);
    }

    private Dictionary<string, string> GatewaySettings(string node)
    {
        var settings = GatewayProcesses.Settings(_billing, node, slots: 8, tokens: 4, TimeSpan.Zero,
            report: TimeSpan.FromMilliseconds(200), nodeTimeout: TimeSpan.FromSeconds(2), placementInterval: TimeSpan.FromMilliseconds(200));
        settings["ConnectionStrings__Lanes"] = _proxy!.Through(_billing.ConnectionString);
        settings["Gateway__Metering__SpoolPath"] = _spool;
        settings["Gateway__Keys__SnapshotPath"] = _snapshot;
        settings["Gateway__Keys__SnapshotInterval"] = "00:00:00.200";
        return settings;
    }

    /// <summary>Requests billing has recorded for the key, over all its windows.</summary>
    private async Task<long> RecordedAsync(ApiKey key) => (await _billing.Get<KeyUsage>().WindowsOfAsync(key.TenantId, key.Id)).Sum(u => u.Requests);

    /// <summary>Requests in the batches waiting in the spool, as the files on disk say.</summary>
    private long Spooled() => Directory.EnumerateFiles(_spool, "*.json")
        .Sum(f => JsonSerializer.Deserialize<UsageBatch>(File.ReadAllBytes(f))!.Lines.Sum(l => l.Requests));

    private async Task<IssuedKey> KeyKnownToAsync(ServiceProcess gateway)
    {
        var tenant = await _billing.Get<TenantService>().CreateAsync($"s-{Guid.NewGuid():N}"[..20], "Spool test", "test");
        await _billing.Get<SubscriptionService>().StartAsync(tenant.Id, "pro", "test");
        var issued = await _billing.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("spool", 5m), "test");
        await Eventually.Get(() => GatewayProcesses.StatusAsync(gateway, issued.Secret), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the gateway to know the key");
        return issued;
    }

    [Fact]
    public async Task A_gateway_restarted_while_the_database_is_still_away_starts_from_its_key_snapshot_refuses_unleased_spend_at_once_and_sends_everything_once_it_is_back()
    {
        await using var first = await ServiceProcess.StartAsync("snap-a", "Inference", GatewaySettings("snap-a"));
        var issued = await KeyKnownToAsync(first);
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await GatewayProcesses.ChatAsync(first, issued.Secret, tokens: 4));
        }

        // In billing and acknowledged: a cut between billing's commit and the gateway reading the answer would leave
        // the batch spooled (to be sent again and counted once), which is right but not what this test counts.
        await Eventually.Get(async () => (await RecordedAsync(issued.Key), Directory.GetFiles(_spool, "*.json").Length), r => r.Item1 == 3 && r.Item2 == 0,
            TimeSpan.FromSeconds(10), "the first three requests in billing and off the spool");
        await Eventually.Get(() => Task.FromResult(File.Exists(_snapshot) && File.ReadAllText(_snapshot).Contains(issued.Key.Id.ToString(), StringComparison.Ordinal)),
            saved => saved, TimeSpan.FromSeconds(10), "the key in the gateway's snapshot");
        _proxy!.Refuse();
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await GatewayProcesses.ChatAsync(first, issued.Secret, tokens: 4));
        }

        await Eventually.Get(() => Task.FromResult(Spooled()), n => n == 3, TimeSpan.FromSeconds(10), "the requests served while cut to be spooled");
        await first.KillAsync();

        // Started again while the database is still away: ready from the snapshot, it knows the key (no 401) but holds
        // no budget lease for it, so spending is refused at once with 503 and Retry-After, never left hanging.
        await using var second = await ServiceProcess.StartAsync("snap-b", "Inference", GatewaySettings("snap-b"));
        var refused = System.Diagnostics.Stopwatch.StartNew();
        Assert.Equal(HttpStatusCode.ServiceUnavailable, await GatewayProcesses.ChatAsync(second, issued.Secret, tokens: 4));
        Assert.True(refused.Elapsed < TimeSpan.FromSeconds(2), $"refused after {refused.Elapsed}");

        _proxy.Restore();
        await Eventually.Get(() => GatewayProcesses.ChatAsync(second, issued.Secret, tokens: 4), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(15), "the gateway to serve again");
        await Eventually.Get(async () => (await RecordedAsync(issued.Key), Directory.GetFiles(_spool, "*.json").Length), r => r.Item1 == 7 && r.Item2 == 0,
            TimeSpan.FromSeconds(15), "every served request in billing, once");
    }

    [Fact]
    public async Task Usage_served_while_the_database_is_away_survives_the_gateway_being_killed_and_is_recorded_once_when_it_restarts()
    {
        await using var gateway = await ServiceProcess.StartAsync("spool-a", "Inference", GatewaySettings("spool-a"));
        var tenant = await _billing.Get<TenantService>().CreateAsync($"s-{Guid.NewGuid():N}"[..20], "Spool test", "test");
        await _billing.Get<SubscriptionService>().StartAsync(tenant.Id, "pro", "test");
        var issued = await _billing.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("spool", 5m), "test");
        await Eventually.Get(() => GatewayProcesses.StatusAsync(gateway, issued.Secret), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "the gateway to know the key");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await GatewayProcesses.ChatAsync(gateway, issued.Secret, tokens: 4));
        }

        // In billing and acknowledged: a cut between billing's commit and the gateway reading the answer would leave
        // the batch spooled (to be sent again and counted once), which is right but not what this test counts.
        await Eventually.Get(async () => (await RecordedAsync(issued.Key), Directory.GetFiles(_spool, "*.json").Length), r => r.Item1 == 5 && r.Item2 == 0,
            TimeSpan.FromSeconds(10), "the first five requests in billing and off the spool");

        // The database goes away: the key's leased budget keeps serving, and what is served waits on disk.
        _proxy!.Refuse();
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.OK, await GatewayProcesses.ChatAsync(gateway, issued.Secret, tokens: 4));
        }

        await Eventually.Get(() => Task.FromResult(Spooled()), n => n == 5, TimeSpan.FromSeconds(10), "the five requests served meanwhile to be spooled");

        // Killed outright while the database is still away; started again once it is back, on the same spool.
        await gateway.KillAsync();
        _proxy.Restore();
        await using var restarted = await ServiceProcess.StartAsync("spool-b", "Inference", GatewaySettings("spool-b"));

        await Eventually.Get(() => RecordedAsync(issued.Key), n => n >= 10, TimeSpan.FromSeconds(15), "the spooled usage in billing");
        await Eventually.Get(() => Task.FromResult(Directory.GetFiles(_spool, "*.json").Length), n => n == 0, TimeSpan.FromSeconds(5), "the spool to empty");
        Assert.Equal(10, await RecordedAsync(issued.Key));
    }
}
