using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lanes.Billing.Keys;
using Lanes.Billing.Occupancy;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Lanes.Testing;
using Marten;

// ./lanes bench scale-out: the overspend actually observed against the bound of docs/scale-out.md, one gateway
// (baseline) against two; and how long a dead gateway's lanes take to move, against the stated bound.
Console.WriteLine("Lanes scale-out bench (gateway processes on one PostgreSQL, scripted engine)");
if (args.Contains("noisy"))
{
    await NoisyNeighbourAsync();
    return;
}

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

// Issue 20: tenant A keeps 6 requests in flight within its 6 reserved lanes while B floods, every request sent to a
// gateway picked at random (an ordinary load balancer). A request of A "waited" when it took more than 1.5 × the
// service time measured for A on the idle fleet in the same run. Without spill lanes a reservation is held per
// gateway; with them, per tenant across the fleet.
static async Task NoisyNeighbourAsync()
{
    const int Slots = 8, Tokens = 40, PerLoop = 40;
    var tokenDelay = TimeSpan.FromMilliseconds(10);
    Console.WriteLine($"Noisy neighbour behind a random balancer: gateways of {Slots} slots, {Tokens} tokens at {tokenDelay.TotalMilliseconds:0} ms; A (Pro, 6 lanes) keeps 6 requests in flight, {6 * PerLoop} in all; B (Starter, 2 lanes) floods");
    Console.WriteLine("| gateways | spill lanes | A's service time (idle) | A waited for a lane (> 100 ms, gateway's count) | A's lane wait p99 | A within reservation, honoured | A p50 ÷ service | A p99 ÷ service | B served |");
    Console.WriteLine("|---|---|---|---|---|---|---|---|---|");
    foreach (var nodes in new[] { 1, 2, 3 })
    {
        foreach (var spill in nodes == 1 ? [true] : new[] { false, true })
        {
            var report = TimeSpan.FromMilliseconds(250);
            await using var fleet = await Fleet.StartAsync(nodes, TimeSpan.FromSeconds(5), report, report, Slots, Tokens, tokenDelay, spill);
            var (a, aKey) = await fleet.TenantWithKeyAsync("pro", 100m);
            var (_, bKey) = await fleet.TenantWithKeyAsync("starter", 100m);
            foreach (var node in fleet.Nodes)
            {
                await Eventually.Get(() => fleet.ReservedOnAsync(node.Name, a.Id), r => r == 6 / nodes, TimeSpan.FromSeconds(30));
            }

            ServiceProcess Any() => fleet.Nodes[Random.Shared.Next(fleet.Nodes.Length)];
            var idle = new List<double>();
            for (var i = 0; i < 10; i++)
            {
                idle.Add(await TimedAsync(Any(), aKey.Secret, Tokens));
            }

            var service = idle.Order().ElementAt(idle.Count / 2);
            using var stop = new CancellationTokenSource();
            var bServed = 0;
            var flood = Enumerable.Range(0, 2 * Slots * nodes).Select(async _ =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        if (await Fleet.ChatAsync(Any(), bKey.Secret, Tokens, stop.Token) == HttpStatusCode.OK)
                        {
                            Interlocked.Increment(ref bServed);
                        }
                        else
                        {
                            await Task.Delay(100, stop.Token); // refused (queue full): the client backs off a little
                        }
                    }
                    catch (OperationCanceledException)
                    {
                    }
                }
            }).ToList();

            // Let the flood fill every slot B may take before A starts.
            await Task.Delay(TimeSpan.FromSeconds(2));
            var latencies = (await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
            {
                var mine = new List<double>();
                for (var i = 0; i < PerLoop; i++)
                {
                    mine.Add(await TimedAsync(Any(), aKey.Secret, Tokens));
                }

                return mine;
            }))).SelectMany(l => l).Order().ToList();
            await stop.CancelAsync();
            await Task.WhenAll(flood);
            // What the gateways measured and flushed: A's lane waits (all its requests) and its lane promise.
            var usage = await Eventually.Get(
                () => fleet.Billing.Get<UsageReports>().ForTenantAsync(a.Id, UsageQuery.LastDays(DateTimeOffset.UtcNow, 1, UsageGranularity.Hour)),
                u => u.Requests >= 10 + 6 * PerLoop, TimeSpan.FromSeconds(60));
            var waits = usage.Totals.QueueWaitCounts;
            var over100 = waits.Skip(UsageDetail.BucketOf(0.1) + 1).Sum() / (double)waits.Sum();
            var p99 = UsageDetail.Percentile(waits, 0.99);
            Console.WriteLine($"| {nodes} | {(nodes == 1 ? "— (one gateway)" : spill ? "on" : "off")} | {service * 1000:0} ms | {over100:P1} | ≤ {p99 * 1000:0} ms | {usage.Totals.WithinReservation} of {usage.Requests}, {usage.Totals.HonouredPercent:0.0} % | " +
                              $"{latencies[latencies.Count / 2] / service:0.00} | {latencies[(int)(latencies.Count * 0.99)] / service:0.00} | {bServed} |");
        }
    }

    Console.WriteLine("aim (issue 20): waited <= 0.5 %, p99 <= 1.2 x service time, on one gateway and on two or three behind a random balancer");

    static async Task<double> TimedAsync(ServiceProcess node, string secret, int tokens)
    {
        var clock = Stopwatch.StartNew();
        var status = await Fleet.ChatAsync(node, secret, tokens);
        return status == HttpStatusCode.OK ? clock.Elapsed.TotalSeconds : throw new InvalidOperationException($"A's request was refused: {status}");
    }
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

    public static async Task<Fleet> StartAsync(
        int nodes, TimeSpan timeout, TimeSpan interval, TimeSpan report, int slots = 32, int tokens = 16, TimeSpan? tokenDelay = null, bool spill = true)
    {
        var billing = new RealClockBilling();
        await billing.InitializeAsync();
        var started = await Task.WhenAll(Enumerable.Range(1, nodes).Select(i =>
        {
            var settings = GatewayProcesses.Settings(billing, $"node-{i}", slots, tokens, tokenDelay ?? TimeSpan.FromMilliseconds(5), report, timeout, interval);
            settings["Logging__LogLevel__Default"] = "Warning";
            settings["Logging__LogLevel__Microsoft.Hosting.Lifetime"] = "Information"; // "Now listening on" says the port is this process's
            settings["Gateway__Placement__SpillLanes"] = spill ? "true" : "false";
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

    public static Task<HttpStatusCode> ChatAsync(ServiceProcess node, string secret, int tokens = 16, CancellationToken ct = default) =>
        GatewayProcesses.ChatAsync(node, secret, tokens, ct);

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
