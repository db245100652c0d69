using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lanes.Billing.Keys;
using Lanes.Gateway.Bench;
using Lanes.Inference.Metering;
using Lanes.Testing;

// Gateway benchmarks, each against a baseline measured in the same process. Run with: ./lanes bench gateway
if (args is ["load-generator", .. var load])
{
    await ExternalLoad.GenerateAsync(load);
    return;
}

if (args is ["canned-upstream"])
{
    await UpstreamComparison.ServeCannedAsync();
    return;
}

const string OverheadBody = """{"model":"scripted","messages":[{"role":"user","content":"Benchmark the gateway"}],"max_tokens":16}""";
var database = new PostgresDatabase();
await database.InitializeAsync();
try
{
    // With a name (overhead, streaming, upstream, tenants, isolation, budget, revocation) only that one runs.
    var only = args.FirstOrDefault();
    if (only is null or "overhead")
    {
        await OverheadAsync(database.ConnectionString);
    }

    if (only is null or "streaming")
    {
        await StreamingAsync(database.ConnectionString);
    }

    if (only is null or "upstream")
    {
        await UpstreamComparison.RunAsync(database.ConnectionString, BenchPlan());
    }

    if (only is null or "tenants")
    {
        await TenantScale.RunAsync(database.ConnectionString, BenchPlan(), OverheadBody);
    }

    if (only is null or "isolation")
    {
        await IsolationAsync(database.ConnectionString);
    }

    if (only is null or "budget")
    {
        await BudgetAsync(database.ConnectionString);
    }

    if (only is null or "revocation")
    {
        await RevocationAsync(database.ConnectionString);
    }
}
finally
{
    await database.DisposeAsync();
}

static Dictionary<string, string?> Engine(int slots, int tokens, int delayMs) => new()
{
    ["Engine:Kind"] = "scripted",
    ["Engine:Scripted:Slots"] = slots.ToString(),
    ["Engine:Scripted:Tokens"] = tokens.ToString(),
    ["Engine:Scripted:TokenDelay"] = TimeSpan.FromMilliseconds(delayMs).ToString(),
};

// A plan with a lane per client (16) and requests enough for every round, so nothing measured is a refusal. (Plans
// are sold only from capacity outside the trial pool, 8 lanes by default: the engine has room for two of them.)
static Dictionary<string, string?> BenchPlan()
{
    var settings = Engine(64, 16, 0);
    settings["Plans:Tiers:0:Id"] = settings["Plans:Tiers:0:Name"] = "bench";
    settings["Plans:Tiers:0:MonthlyPriceUsd"] = "1";
    settings["Plans:Tiers:0:ReservedLanes"] = "16";
    settings["Plans:Tiers:0:RequestsPerWindow"] = "100000000";
    settings["Plans:Tiers:0:DefaultKeyBudgetUsd"] = "1000000";
    return settings;
}

static async Task OverheadAsync(string connectionString)
{
    const int Concurrency = 16;
    var Requests = Environment.GetEnvironmentVariable("LANES_BENCH_REQUESTS") is { } n ? int.Parse(n) : 10_000;
    const string Body = OverheadBody;

    var settings = BenchPlan();

    // Capture the gateway's exact answer once, then serve those bytes from the bare endpoint.
    byte[] captured;
    await using (var probe = await GatewayUnderTest.StartAsync(connectionString, settings))
    {
        var (_, key) = await probe.TenantWithKeyAsync("bench", 10_000m);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(probe.Address, "/v1/chat/completions")) { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Secret);
        captured = await (await Load.Client.SendAsync(request)).Content.ReadAsByteArrayAsync();
    }

    await using var gateway = await GatewayUnderTest.StartAsync(connectionString, settings, captured);
    var (_, bench) = await gateway.TenantWithKeyAsync("bench", 1_000_000m);
    var full = new Uri(gateway.Address, "/v1/chat/completions");
    var bare = new Uri(gateway.Address, "/bare/chat/completions");

    // Warm every path until the JIT has tiered it up (the gateway has far more code to optimise than the bare
    // endpoint; measured cold, the ratio mostly reflects tier-0 code).
    var layers = Lanes.Gateway.Bench.Layers.Names.Select(name => (Name: name, Url: new Uri(gateway.Address, $"/layer/{name}/chat/completions"))).ToList();
    await ExternalLoad.RunAsync(bare, (string?)null, Body, Concurrency, 20_000);
    await ExternalLoad.RunAsync(full, bench.Secret, Body, Concurrency, 20_000);
    foreach (var layer in layers)
    {
        await ExternalLoad.RunAsync(layer.Url, bench.Secret, Body, Concurrency, 5_000);
    }

    var runs = new List<(LoadResult Bare, LoadResult Full, LoadResult[] Layers)>();
    for (var i = 0; i < (Environment.GetEnvironmentVariable("LANES_BENCH_ROUNDS") is { } r ? int.Parse(r) : 3); i++)
    {
        var bareRun = await ExternalLoad.RunAsync(bare, (string?)null, Body, Concurrency, Requests);
        var layerRuns = new List<LoadResult>();
        foreach (var layer in layers)
        {
            layerRuns.Add(await ExternalLoad.RunAsync(layer.Url, bench.Secret, Body, Concurrency, Requests));
        }

        runs.Add((bareRun, await ExternalLoad.RunAsync(full, bench.Secret, Body, Concurrency, Requests), [.. layerRuns]));
    }

    var best = runs.OrderBy(r => r.Full.RequestsPerSecond / r.Bare.RequestsPerSecond).ElementAt(runs.Count / 2); // the median ratio
    Console.WriteLine($"1. overhead ({Concurrency} clients in a separate process, {Requests:N0} requests, 16 tokens, zero delay):");
    Console.WriteLine($"   gateway {best.Full.RequestsPerSecond:F0} req/s, p50 {best.Full.P50Ms:F2} ms, p99 {best.Full.P99Ms:F2} ms ({best.Full.Count(HttpStatusCode.OK)} OK)");
    if (runs.Any(x => x.Full.Count(HttpStatusCode.OK) != Requests || x.Layers.Any(l => l.Count(HttpStatusCode.OK) != Requests)))
    {
        Console.WriteLine("   WARNING: some measured requests were refused; the figures below are not comparable.");
    }

    Console.WriteLine($"   bare    {best.Bare.RequestsPerSecond:F0} req/s, p50 {best.Bare.P50Ms:F2} ms, p99 {best.Bare.P99Ms:F2} ms");
    Console.WriteLine($"   throughput ratio gateway/bare {best.Full.RequestsPerSecond / best.Bare.RequestsPerSecond:F2} (aim >= 0.8); " +
                      $"every round: {string.Join(", ", runs.Select(r => (r.Full.RequestsPerSecond / r.Bare.RequestsPerSecond).ToString("F2")))}");

    // CPU and allocations are the gateway process's alone (the load comes from another process); the gateway's share
    // is the difference from the bare endpoint in the same process, which also pays Kestrel and HTTP. CPU time is
    // steadier than throughput on busy cores. Each figure is the median over the rounds.
    static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    var added = runs.Select(r => r.Full.CpuMicrosecondsPerRequest - r.Bare.CpuMicrosecondsPerRequest).ToList();
    Console.WriteLine($"   process CPU per request: gateway {best.Full.CpuMicrosecondsPerRequest:F1} µs, bare {best.Bare.CpuMicrosecondsPerRequest:F1} µs; " +
                      $"added by the gateway {Median(added):F1} µs (aim <= 15); every round: {string.Join(", ", added.Select(a => a.ToString("F1")))}");
    Console.WriteLine($"   allocated per request: gateway {best.Full.BytesPerRequest:N0} B, bare {best.Bare.BytesPerRequest:N0} B; " +
                      $"ratio {best.Full.BytesPerRequest / best.Bare.BytesPerRequest:F1}");
    Console.WriteLine("   layer by layer (each answers the bare bytes; medians over the rounds):");
    Console.WriteLine("     layer       throughput/bare   CPU added µs   bytes/request");
    var steps = layers.Select((l, i) => (l.Name, Run: (Func<(LoadResult Bare, LoadResult Full, LoadResult[] Layers), LoadResult>)(x => x.Layers[i])))
        .Append(("full", x => x.Full));
    foreach (var (name, run) in steps)
    {
        Console.WriteLine($"     {name,-10}  {Median(runs.Select(x => run(x).RequestsPerSecond / x.Bare.RequestsPerSecond)),15:F2}   " +
                          $"{Median(runs.Select(x => run(x).CpuMicrosecondsPerRequest - x.Bare.CpuMicrosecondsPerRequest)),12:F1}   " +
                          $"{Median(runs.Select(x => run(x).BytesPerRequest)),13:N0}");
    }
}

// G5: tokens streamed per second through the gateway ÷ a bare endpoint that writes the gateway's own events with one
// flush each. Long answers (256 tokens, no engine delay) so the per-event cost dominates, not the per-request one.
static async Task StreamingAsync(string connectionString)
{
    const int Concurrency = 16, Tokens = 256;
    var requests = Environment.GetEnvironmentVariable("LANES_BENCH_REQUESTS") is { } n ? int.Parse(n) / 10 : 1_000;
    const string Body = """{"model":"scripted","messages":[{"role":"user","content":"Stream through the gateway"}],"max_tokens":256,"stream":true}""";
    var settings = BenchPlan();
    settings["Engine:Scripted:Tokens"] = Tokens.ToString();

    // The gateway's exact stream once, cut into its events for the bare endpoint.
    List<byte[]> events;
    await using (var probe = await GatewayUnderTest.StartAsync(connectionString, settings))
    {
        var (_, key) = await probe.TenantWithKeyAsync("bench", 10_000m);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(probe.Address, "/v1/chat/completions")) { Content = new StringContent(Body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key.Secret);
        var text = await (await Load.Client.SendAsync(request)).Content.ReadAsStringAsync();
        events = [.. text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(e => Encoding.UTF8.GetBytes(e + "\n\n"))];
    }

    await using var gateway = await GatewayUnderTest.StartAsync(connectionString, settings, bareEvents: events);
    var (_, bench) = await gateway.TenantWithKeyAsync("bench", 1_000_000m);
    var full = new Uri(gateway.Address, "/v1/chat/completions");
    var bare = new Uri(gateway.Address, "/bare/stream/chat/completions");
    await ExternalLoad.RunAsync(bare, (string?)null, Body, Concurrency, 2_000);
    await ExternalLoad.RunAsync(full, bench.Secret, Body, Concurrency, 2_000);

    var rounds = new List<(LoadResult Bare, LoadResult Full)>();
    for (var i = 0; i < (Environment.GetEnvironmentVariable("LANES_BENCH_ROUNDS") is { } r ? int.Parse(r) : 3); i++)
    {
        rounds.Add((await ExternalLoad.RunAsync(bare, (string?)null, Body, Concurrency, requests), await ExternalLoad.RunAsync(full, bench.Secret, Body, Concurrency, requests)));
    }

    var median = rounds.OrderBy(x => x.Full.RequestsPerSecond / x.Bare.RequestsPerSecond).ElementAt(rounds.Count / 2);
    Console.WriteLine($"5. streaming ({Concurrency} clients in a separate process, {requests:N0} streams of {Tokens} tokens, {events.Count} events each):");
    Console.WriteLine($"   gateway {median.Full.RequestsPerSecond * Tokens:F0} tokens/s ({median.Full.Count(HttpStatusCode.OK)} OK), " +
                      $"CPU {median.Full.Cpu.TotalMicroseconds / (median.Full.Requests * (double)events.Count):F1} µs/event, {median.Full.Allocated / (median.Full.Requests * (double)events.Count):N0} B/event");
    Console.WriteLine($"   bare    {median.Bare.RequestsPerSecond * Tokens:F0} tokens/s, " +
                      $"CPU {median.Bare.Cpu.TotalMicroseconds / (median.Bare.Requests * (double)events.Count):F1} µs/event, {median.Bare.Allocated / (median.Bare.Requests * (double)events.Count):N0} B/event");
    Console.WriteLine($"   ratio gateway/bare {median.Full.RequestsPerSecond / median.Bare.RequestsPerSecond:F2} (aim >= 0.9); " +
                      $"every round: {string.Join(", ", rounds.Select(x => (x.Full.RequestsPerSecond / x.Bare.RequestsPerSecond).ToString("F2")))}");
}

static async Task IsolationAsync(string connectionString)
{
    const string Body = """{"model":"scripted","messages":[{"role":"user","content":"isolation"}],"max_tokens":16}""";
    var settings = Engine(8, 16, 5);
    settings["Capacity:TrialLanes"] = "0"; // all 8 slots sellable: A's 4 and B's 4
    settings["Gateway:Lanes:QueueLength"] = "128";
    settings["Gateway:Lanes:QueueTimeout"] = "00:02:00";
    foreach (var (i, (id, lanes)) in new[] { ("four-a", 4), ("four-b", 4) }.Index())
    {
        settings[$"Plans:Tiers:{i}:Id"] = id;
        settings[$"Plans:Tiers:{i}:Name"] = id;
        settings[$"Plans:Tiers:{i}:MonthlyPriceUsd"] = "1";
        settings[$"Plans:Tiers:{i}:ReservedLanes"] = lanes.ToString();
        settings[$"Plans:Tiers:{i}:RequestsPerWindow"] = "1000000";
        settings[$"Plans:Tiers:{i}:DefaultKeyBudgetUsd"] = "1000";
    }

    var gateway = await GatewayUnderTest.StartAsync(connectionString, settings);
    var (tenantA, a) = await gateway.TenantWithKeyAsync("four-a", 1_000m);
    var (tenantB, b) = await gateway.TenantWithKeyAsync("four-b", 1_000m);
    var url = new Uri(gateway.Address, "/v1/chat/completions");

    await Load.RunAsync(url, a.Secret, Body, 4, 40);
    var alone = await Load.RunAsync(url, a.Secret, Body, 4, 400);

    using var stop = new CancellationTokenSource();
    var flood = Task.Run(async () =>
    {
        var sent = 0;
        var refused = 0;
        while (!stop.IsCancellationRequested)
        {
            var r = await Load.RunAsync(url, b.Secret, Body, 64, 256);
            sent += r.Requests;
            refused += r.Requests - r.Count(HttpStatusCode.OK);
        }

        return (sent, refused);
    });
    await Task.Delay(500); // let the flood fill B's lanes and queue before A measures
    var flooded = await Load.RunAsync(url, a.Secret, Body, 4, 400);
    await stop.CancelAsync();
    var (floodSent, floodRefused) = await flood;

    Console.WriteLine("2. isolation (8 slots, 5 ms/token, 16 tokens; A has 4 reserved lanes and sends 4 at a time; B has 4 and floods 64 at a time):");
    Console.WriteLine($"   A alone:   p50 {alone.P50Ms:F1} ms, p99 {alone.P99Ms:F1} ms, 429s {alone.Requests - alone.Count(HttpStatusCode.OK)}");
    Console.WriteLine($"   A flooded: p50 {flooded.P50Ms:F1} ms, p99 {flooded.P99Ms:F1} ms, 429s {flooded.Requests - flooded.Count(HttpStatusCode.OK)} (B sent {floodSent:N0}, {floodRefused:N0} not OK)");
    Console.WriteLine($"   A's p99 ratio flooded/alone {flooded.P99Ms / alone.P99Ms:F2} (aim <= 1.10), A's 429s {flooded.Requests - flooded.Count(HttpStatusCode.OK)} (aim 0)");

    // G7, under CPU pressure: B's queue is short, so what B sends past its lanes is refused at once, and B sends as
    // fast as it can from another process (64 connections, closed loop): refusals saturate the cores while A measures.
    settings["Gateway:Lanes:QueueLength"] = "4";
    await gateway.DisposeAsync(); // one gateway at a time, so no reservation is placed on a gateway that has gone
    await using var pressed = await GatewayUnderTest.StartAsync(connectionString, settings);
    // The same tenants (and reservations), with keys hashed under this gateway's pepper.
    var pa = await pressed.Get<KeyService>().IssueAsync(tenantA, new KeyRequest("pressed", 1_000m), "bench");
    var pb = await pressed.Get<KeyService>().IssueAsync(tenantB, new KeyRequest("pressed", 1_000m), "bench");
    var pressedUrl = new Uri(pressed.Address, "/v1/chat/completions");
    await pressed.Get<Lanes.Inference.Auth.KeyDirectoryRefresher>().RefreshAsync(CancellationToken.None);

    // Until A's whole reservation is here: the stopped gateway's share moves once its last report ages out.
    var placed = Stopwatch.StartNew();
    while ((await Load.RunAsync(pressedUrl, pa.Secret, Body, 4, 4)).Count(HttpStatusCode.OK) < 4 || (await Load.RunAsync(pressedUrl, pa.Secret, Body, 4, 40)).P50Ms > 200)
    {
        if (placed.Elapsed > TimeSpan.FromSeconds(60))
        {
            var probe = await Load.RunAsync(pressedUrl, pa.Secret, Body, 4, 4);
            throw new InvalidOperationException($"A's reservation never came whole to the gateway under pressure: {string.Join(", ", probe.Statuses)}, p50 {probe.P50Ms} ms.");
        }
    }

    await Load.RunAsync(pressedUrl, pa.Secret, Body, 4, 40);
    var calm = await Load.RunAsync(pressedUrl, pa.Secret, Body, 4, 400);
    var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
    var pressure = ExternalLoad.RunAsync(pressedUrl, pb.Secret, Body, 64, 150_000);
    await Task.Delay(3_000); // the flood's own warm-up (2,000 requests) and start
    var wall = Stopwatch.StartNew();
    var underPressure = await Load.RunAsync(pressedUrl, pa.Secret, Body, 4, 400);
    var busy = (Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds / (wall.Elapsed.TotalSeconds + 3) / Environment.ProcessorCount;
    var floodRun = await pressure;
    Console.WriteLine($"   G7 under CPU pressure (B's queue 4; B floods from another process, 64 connections, as fast as answered):");
    Console.WriteLine($"   A calm:    p50 {calm.P50Ms:F1} ms, p99 {calm.P99Ms:F1} ms");
    Console.WriteLine($"   A pressed: p50 {underPressure.P50Ms:F1} ms, p99 {underPressure.P99Ms:F1} ms, 429s {underPressure.Requests - underPressure.Count(HttpStatusCode.OK)}; " +
                      $"B: {floodRun.RequestsPerSecond:F0} req/s, {floodRun.Requests - floodRun.Count(HttpStatusCode.OK):N0} of {floodRun.Requests:N0} refused; gateway process at {busy:P0} of the cores");
    Console.WriteLine($"   A's p99 ratio pressed/calm {underPressure.P99Ms / calm.P99Ms:F2} (aim <= 1.05)");
}

static async Task BudgetAsync(string connectionString)
{
    const string Body = """{"model":"scripted","messages":[{"role":"user","content":"budget"}],"max_tokens":16}""";
    await using var gateway = await GatewayUnderTest.StartAsync(connectionString, Engine(64, 16, 5));

    // One request costs at most 16 × $0.40/M + a few prompt tokens × $0.10/M ≈ $0.0000066; ten fit in $0.000066.
    var (tenant, key) = await gateway.TenantWithKeyAsync("enterprise", 0.000066m);
    var result = await Load.RunAsync(new Uri(gateway.Address, "/v1/chat/completions"), key.Secret, Body, 64, 64);
    await gateway.Get<UsageFlusher>().FlushAsync(CancellationToken.None);
    var recorded = await gateway.Get<KeyService>().FindAsync(tenant, key.Key.Id);

    Console.WriteLine("3. budget (64 concurrent requests, budget for about 10):");
    Console.WriteLine($"   admitted {result.Count(HttpStatusCode.OK)}, refused 429 {result.Count((HttpStatusCode)429)}; " +
                      $"recorded spend ${recorded!.WindowSpentUsd:0.0000000} vs budget ${key.Key.BudgetUsd:0.0000000} (aim <= budget)");
}

static async Task RevocationAsync(string connectionString)
{
    const string Body = """{"model":"scripted","messages":[{"role":"user","content":"revoke"}],"max_tokens":1}""";
    await using var gateway = await GatewayUnderTest.StartAsync(connectionString, Engine(8, 1, 0));
    var seconds = new List<double>();
    for (var i = 0; i < 5; i++)
    {
        var (tenant, key) = await gateway.TenantWithKeyAsync("pro", 10m);
        var url = new Uri(gateway.Address, "/v1/chat/completions");
        await gateway.Get<KeyService>().RevokeAsync(tenant, key.Key.Id, RevocationReason.User, "bench");
        var watch = Stopwatch.StartNew();
        while ((await Load.RunAsync(url, key.Secret, Body, 1, 1)).Count(HttpStatusCode.Unauthorized) == 0 && watch.Elapsed < TimeSpan.FromSeconds(10))
        {
        }

        seconds.Add(watch.Elapsed.TotalSeconds);
    }

    Console.WriteLine("4. revocation (poll interval 100 ms here, 250 ms by default; 5 keys):");
    Console.WriteLine($"   seconds from revoke to the first 401: {string.Join(", ", seconds.Select(s => s.ToString("F2")))}; max {seconds.Max():F2} (aim <= 2)");
}
