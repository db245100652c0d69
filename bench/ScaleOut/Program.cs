using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lanes.Billing.Keys;
using Lanes.Billing.Occupancy;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Marten;

// ./lanes bench scale-out: the overspend actually observed against the bound of docs/scale-out.md, one gateway
// (baseline) against two; and how long a dead gateway's lanes take to move, against the stated bound.
Console.WriteLine("Lanes scale-out bench (two gateway processes on one PostgreSQL, scripted engine)");

foreach (var (budget, requests) in new[] { (0.0007m, 400), (0.00035m, 400) })
{
    var one = await OverspendAsync(nodes: 1, budget, requests);
    var two = await OverspendAsync(nodes: 2, budget, requests);
    Console.WriteLine($"budget ${budget} ({budget / 0.0000066m:0} requests' worth), {requests} requests at 32 at a time:");
    Console.WriteLine($"  1 gateway (baseline): spend ${one.Spend:0.#######} = {one.Spend / budget:P1} of budget, {one.Served} served, {one.Refused} refused");
    Console.WriteLine($"  2 gateways:           spend ${two.Spend:0.#######} = {two.Spend / budget:P1} of budget, {two.Served} served, {two.Refused} refused");
    Console.WriteLine($"  bound (budget not lowered mid-window): spend <= budget; observed overspend ${Math.Max(0, two.Spend - budget):0.#######}; served ratio 2/1 = {(double)two.Served / Math.Max(1, one.Served):0.00}");
}

foreach (var (timeout, interval, report) in new[] { (TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)), (TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(200)) })
{
    var runs = new List<TimeSpan>();
    for (var i = 0; i < 3; i++)
    {
        runs.Add(await ReplacementAsync(timeout, interval, report));
    }

    var bound = timeout + interval + report;
    var median = runs.Order().ElementAt(1);
    Console.WriteLine($"re-placement after a gateway is killed (NodeTimeout {timeout.TotalSeconds} s, Interval {interval.TotalSeconds} s, report {report.TotalSeconds} s):");
    Console.WriteLine($"  runs {string.Join(", ", runs.Select(r => $"{r.TotalSeconds:0.00} s"))}; median {median.TotalSeconds:0.00} s; bound {bound.TotalSeconds:0.0} s; median/bound {median / bound:0.00}");
}

static async Task<(decimal Spend, int Served, int Refused)> OverspendAsync(int nodes, decimal budget, int requests)
{
    await using var fleet = await Fleet.StartAsync(nodes, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2));
    var (tenant, key) = await fleet.TenantWithKeyAsync("team", budget);
    using var gate = new SemaphoreSlim(32);
    var answers = await Task.WhenAll(Enumerable.Range(0, requests).Select(async i =>
    {
        await gate.WaitAsync();
        try
        {
            return await Fleet.ChatAsync(fleet.Nodes[i % nodes], key.Secret);
        }
        finally
        {
            gate.Release();
        }
    }));
    var served = answers.Count(a => a == HttpStatusCode.OK);
    var recorded = await Eventually.Get(() => fleet.Billing.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id), k => k!.WindowRequests == served, TimeSpan.FromSeconds(60));
    return (recorded!.WindowSpentUsd, served, answers.Count(a => a == (HttpStatusCode)429));
}

static async Task<TimeSpan> ReplacementAsync(TimeSpan timeout, TimeSpan interval, TimeSpan report)
{
    await using var fleet = await Fleet.StartAsync(2, timeout, interval, report);
    var (tenant, _) = await fleet.TenantWithKeyAsync("team", 5m); // 32 lanes: 16 on each
    await Eventually.Get(() => fleet.ReservedOnAsync("node-1", tenant.Id), r => r == 16, TimeSpan.FromSeconds(30));
    var clock = Stopwatch.StartNew();
    await fleet.Nodes[1].KillAsync();
    await Eventually.Get(() => fleet.ReservedOnAsync("node-1", tenant.Id), r => r == 32, TimeSpan.FromSeconds(60));
    return clock.Elapsed;
}

/// <summary>N gateway processes and billing (for setup and reading results) on a fresh database.</summary>
sealed class Fleet : IAsyncDisposable
{
    public required RealClockBilling Billing { get; init; }
    public required ServiceProcess[] Nodes { get; init; }

    public static async Task<Fleet> StartAsync(int nodes, TimeSpan timeout, TimeSpan interval, TimeSpan report)
    {
        var billing = new RealClockBilling();
        await billing.InitializeAsync();
        var started = await Task.WhenAll(Enumerable.Range(1, nodes).Select(i =>
        {
            var settings = GatewayProcesses.Settings(billing, $"node-{i}", slots: 32, tokens: 16, TimeSpan.FromMilliseconds(5), report, timeout, interval);
            settings["Logging__LogLevel__Default"] = "Warning";
            return ServiceProcess.StartAsync($"node-{i}", "Inference", settings);
        }));
        return new Fleet { Billing = billing, Nodes = started };
    }

    public async Task<(Tenant Tenant, IssuedKey Key)> TenantWithKeyAsync(string plan, decimal budget)
    {
        var tenant = await Billing.Get<TenantService>().CreateAsync($"b-{Guid.NewGuid():N}"[..20], "Bench", "bench");
        await Billing.Get<SubscriptionService>().StartAsync(tenant.Id, plan, "bench");
        var key = await Billing.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("bench", budget), "bench");
        foreach (var node in Nodes)
        {
            await Eventually.Get(() => GatewayProcesses.StatusAsync(node, key.Secret), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30));
        }

        return (tenant, key);
    }

    public static Task<HttpStatusCode> ChatAsync(ServiceProcess node, string secret) => GatewayProcesses.ChatAsync(node, secret, tokens: 16);

    public async Task<int> ReservedOnAsync(string nodeId, Guid tenantId) =>
        (await GatewayProcesses.ReportedAsync(Billing.Store, nodeId, tenantId))?.Reserved ?? 0;

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await Billing.DisposeAsync();
    }
}

/// <summary>Billing on the real clock: the gateways it shares the database with run on it too.</summary>
sealed class RealClockBilling : BillingHost
{
    protected override bool RealClock => true;

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Logging:LogLevel:Default", "Warning")];
}
