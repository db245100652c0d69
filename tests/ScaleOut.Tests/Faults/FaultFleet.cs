using System.Net;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Billing.Usage;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Npgsql;

namespace Lanes.ScaleOut.Tests.Faults;

/// <summary>
/// Two gateway processes whose database connections go through a proxy the test can cut, blackhole or restore, on a
/// PostgreSQL cluster of the suite's own (so crashing it hurts no other test), with billing in the test process
/// connected directly to read what was recorded. Each gateway has its own usage spool and key snapshot, kept across
/// its restarts as a pod's volume would be.
/// </summary>
public sealed class FaultFleet : BillingHost
{
    /// <summary>Room for one scenario's tenants (a team plan's 32 lanes and a pro plan's 6) on either gateway alone,
    /// as after the other is killed.</summary>
    public const int Slots = 48;
    public static readonly TimeSpan ReclaimAfter = TimeSpan.FromSeconds(3);
    public static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan PlacementInterval = TimeSpan.FromMilliseconds(200);
    public static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(200);

    private readonly string _state = Directory.CreateTempSubdirectory("lanes-faults-").FullName;
    private readonly List<Guid> _tenants = [];
    private PrivatePostgres? _server;

    public TcpProxy Proxy { get; private set; } = null!;

    public PrivatePostgres Postgres => _server!;

    public ServiceProcess[] Nodes { get; } = new ServiceProcess[2];

    protected override bool RealClock => true;

    protected override BillingRole Role => BillingRole.Services;

    protected override string? Server => _server?.ConnectionString;

    /// <summary>Room to sell every scenario's tenants (a team plan each) their reservations.</summary>
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Capacity:TotalLanes", "4096")];

    public override async Task InitializeAsync()
    {
        _server = await PrivatePostgres.StartAsync();
        await base.InitializeAsync();
        Proxy = TcpProxy.Start(_server.Port);
        await Task.WhenAll(Enumerable.Range(0, 2).Select(StartAsync));
    }

    public override async Task DisposeAsync()
    {
        foreach (var node in Nodes.Where(n => n is not null))
        {
            await node.DisposeAsync();
        }

        await Proxy.DisposeAsync();
        await base.DisposeAsync();
        await _server!.DisposeAsync();
        Directory.Delete(_state, recursive: true);
    }

    public static string NodeName(int i) => $"fault-{i + 1}";

    public string SpoolOf(int i) => Path.Combine(_state, NodeName(i), "spool");

    /// <summary>Starts gateway <paramref name="i"/> (again, after a kill: same spool and snapshot, a new process).</summary>
    public async Task StartAsync(int i)
    {
        var name = NodeName(i);
        var settings = GatewayProcesses.Settings(this, name, Slots, tokens: 4, TimeSpan.FromMilliseconds(25), ReportInterval, NodeTimeout, PlacementInterval);
        settings["ConnectionStrings__Lanes"] = Proxy.Through(ConnectionString);
        settings["Gateway__Metering__SpoolPath"] = SpoolOf(i);
        settings["Gateway__Keys__SnapshotPath"] = Path.Combine(_state, name, "keys.json");
        settings["Gateway__Keys__SnapshotInterval"] = "00:00:00.200";
        settings["Gateway__Budgets__ReclaimAfter"] = ReclaimAfter.ToString();
        settings["Capacity__TotalLanes"] = "4096";
        settings["Gateway__Lanes__QueueLength"] = "256";
        settings["Gateway__Lanes__QueueTimeout"] = "00:00:30";
        // What a failed scenario prints: each gateway line timed (UTC, as the refusals in the report), and why each
        // 503 was given and how long its lease call waited.
        settings["Logging__Console__FormatterName"] = "simple";
        settings["Logging__Console__FormatterOptions__TimestampFormat"] = "HH:mm:ss.fff ";
        settings["Logging__Console__FormatterOptions__UseUtcTimestamp"] = "true";
        settings["Logging__Console__FormatterOptions__SingleLine"] = "true";
        settings["Logging__LogLevel__Lanes.Inference.Budgets.LeaseCircuit"] = "Debug";
        settings["Logging__LogLevel__Lanes.Inference.Admission.AdmissionPipeline"] = "Debug";
        Nodes[i] = await ServiceProcess.StartAsync(name, "Inference", settings);
    }

    public async Task<(Tenant Tenant, IssuedKey Key)> TenantWithKeyAsync(string plan, decimal budget, TimeSpan? window = null)
    {
        var tenant = await Get<TenantService>().CreateAsync($"f-{Guid.NewGuid():N}"[..20], "Fault test", "test");
        await Get<SubscriptionService>().StartAsync(tenant.Id, plan, "test");
        lock (_tenants)
        {
            _tenants.Add(tenant.Id);
        }

        var key = await Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("faults", budget, window), "test");
        foreach (var node in Nodes)
        {
            await Eventually.Get(() => GatewayProcesses.StatusAsync(node, key.Secret), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30), $"{node.Name} to know the key");
        }

        return (tenant, key);
    }

    /// <summary>Ends the subscriptions a scenario started, so its reservations do not crowd the next scenario's out.</summary>
    public async Task EndTenantsAsync()
    {
        Guid[] tenants;
        lock (_tenants)
        {
            tenants = [.. _tenants];
            _tenants.Clear();
        }

        foreach (var tenant in tenants)
        {
            await Get<SubscriptionService>().EndAsync(tenant, "fault scenario over", "test");
        }
    }

    /// <summary>Usage billing has recorded for the key: requests and spend, per window.</summary>
    public Task<IReadOnlyList<WindowUsage>> RecordedAsync(ApiKey key) => Get<KeyUsage>().WindowsOfAsync(key.TenantId, key.Id);

    public async Task<long> RequestsRecordedAsync(ApiKey key) => (await RecordedAsync(key)).Sum(u => u.Requests);

    /// <summary>Batches waiting in the gateways' spools.</summary>
    public int Spooled() => Enumerable.Range(0, 2).Sum(i => Directory.Exists(SpoolOf(i)) ? Directory.GetFiles(SpoolOf(i), "*.json").Length : 0);

    /// <summary>What each holder of a pool holds and may spend, straight from the lease table.</summary>
    public async Task<IReadOnlyList<(string Holder, decimal Held, decimal Ceiling)>> HoldsAsync(string pool)
    {
        await using var database = NpgsqlDataSource.Create(ConnectionString);
        await using var command = database.CreateCommand("select holder, held, ceiling from lanes.lease_holds where pool = $1");
        command.Parameters.AddWithValue(pool);
        await using var reader = await command.ExecuteReaderAsync();
        var holds = new List<(string, decimal, decimal)>();
        while (await reader.ReadAsync())
        {
            holds.Add((reader.GetString(0), reader.GetDecimal(1), reader.GetDecimal(2)));
        }

        return holds;
    }
}

[CollectionDefinition(Name)]
public sealed class FaultCollection : ICollectionFixture<FaultFleet>
{
    public const string Name = "Fault injection: two gateways behind a database proxy";
}
