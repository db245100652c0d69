using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Lanes.Gateway.Bench;

/// <summary>
/// Issue 17, G6: Lanes in upstream mode against the same canned upstream called directly and through the Portkey OSS
/// gateway (npm <c>@portkey-ai/gateway</c>), all driven by the same outside load generator (npm <c>autocannon</c>), each
/// in a process of its own: throughput at 16 connections, then the p99 Lanes adds at 80 % of its measured maximum.
/// </summary>
internal static class UpstreamComparison
{
    private const int Connections = 16;
    private const int Seconds = 10;
    private const string Body = """{"model":"canned","messages":[{"role":"user","content":"Compare the gateways"}],"max_tokens":16}""";

    /// <summary>What the canned upstream answers every chat completion with: a 16-token OpenAI answer.</summary>
    private static readonly byte[] Answer = Encoding.UTF8.GetBytes(
        """{"id":"chatcmpl-canned","object":"chat.completion","created":1764000000,"model":"canned","system_fingerprint":"canned","choices":[{"index":0,"message":{"role":"assistant","content":"tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8 tok9 tok10 tok11 tok12 tok13 tok14 tok15"},"logprobs":null,"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":16,"total_tokens":28}}""");

    public static async Task RunAsync(string connectionString, Dictionary<string, string?> plan)
    {
        var node = Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "node");
        if (!Directory.Exists(Path.Combine(node, "node_modules")))
        {
            await RunToEndAsync("npm", node, "ci", "--no-audit", "--no-fund");
        }

        await using var upstream = Child.Start("dotnet", ".", typeof(UpstreamComparison).Assembly.Location, "canned-upstream");
        var upstreamUrl = new Uri((await upstream.ReadLineAsync())!);

        var settings = new Dictionary<string, string?>(plan)
        {
            ["Engine:Kind"] = "upstream",
            ["Engine:Upstream:BaseUrl"] = new Uri(upstreamUrl, "/v1").ToString(),
            ["Engine:Upstream:Slots"] = "256",
            ["Engine:Upstream:Models:0:Id"] = "canned",
            ["Pricing:Models:0:Model"] = "canned",
            ["Pricing:Models:0:InputPerMillionUsd"] = "0.1",
            ["Pricing:Models:0:OutputPerMillionUsd"] = "0.4",
            ["Pricing:Models:0:Source"] = "bench: the canned upstream's list price",
            ["Pricing:Models:0:AsOf"] = "2026-12-03",
        };
        await using var lanes = await GatewayUnderTest.StartAsync(connectionString, settings);
        var (_, key) = await lanes.TenantWithKeyAsync("bench", 1_000_000m);

        // Lanes must relay the whole answer, or the comparison would flatter it.
        using (var probe = new HttpRequestMessage(HttpMethod.Post, new Uri(lanes.Address, "/v1/chat/completions")) { Content = new StringContent(Body, Encoding.UTF8, "application/json") })
        {
            probe.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key.Secret);
            using var answer = JsonDocument.Parse(await (await Load.Client.SendAsync(probe)).Content.ReadAsStringAsync());
            var content = answer.RootElement.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString();
            if (content != "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7 tok8 tok9 tok10 tok11 tok12 tok13 tok14 tok15")
            {
                throw new InvalidOperationException($"Lanes relayed '{content}' from the canned upstream.");
            }
        }

        var portkeyPort = FreePort();
        await using var portkey = Child.Start("node", node, Path.Combine(node, "node_modules", ".bin", "gateway"), $"--port={portkeyPort}", "--headless");
        await WaitForPortAsync(portkeyPort);

        var targets = new (string Name, Uri Url, string[] Headers)[]
        {
            ("direct", new Uri(upstreamUrl, "/v1/chat/completions"), []),
            ("lanes", new Uri(lanes.Address, "/v1/chat/completions"), [$"authorization: Bearer {key.Secret}"]),
            ("portkey", new Uri($"http://127.0.0.1:{portkeyPort}/v1/chat/completions"),
                ["authorization: Bearer canned", "x-portkey-provider: openai", $"x-portkey-custom-host: {new Uri(upstreamUrl, "/v1")}"]),
        };

        var peak = new Dictionary<string, Cannon>();
        foreach (var (name, url, headers) in targets)
        {
            await AutocannonAsync(node, url, headers, seconds: 3); // warm-up: JIT, pools, Node's optimiser
            peak[name] = await AutocannonAsync(node, url, headers, Seconds);
        }

        var rate = (int)(peak["lanes"].RequestsPerSecond * 0.8);
        var directAtRate = await AutocannonAsync(node, targets[0].Url, targets[0].Headers, Seconds, rate);
        var lanesAtRate = await AutocannonAsync(node, targets[1].Url, targets[1].Headers, Seconds, rate);

        Console.WriteLine($"6. upstream mode (autocannon, {Connections} connections, {Seconds} s each, same canned upstream in its own process):");
        foreach (var (name, _, _) in targets)
        {
            var p = peak[name];
            Console.WriteLine($"   {name,-8} {p.RequestsPerSecond,8:F0} req/s, p50 {p.P50Ms:F2} ms, p99 {p.P99Ms:F2} ms, non-2xx {p.Non2xx}, errors {p.Errors}");
        }

        Console.WriteLine($"   lanes ÷ direct {peak["lanes"].RequestsPerSecond / peak["direct"].RequestsPerSecond:F2} (aim >= 0.5); " +
                          $"lanes ÷ portkey {peak["lanes"].RequestsPerSecond / peak["portkey"].RequestsPerSecond:F1} (aim >= 15)");
        Console.WriteLine($"   at {rate:N0} req/s (80 % of lanes' maximum): direct p99 {directAtRate.P99Ms:F2} ms, lanes p99 {lanesAtRate.P99Ms:F2} ms; " +
                          $"added {lanesAtRate.P99Ms - directAtRate.P99Ms:F2} ms (aim <= 1)");
    }

    /// <summary>The same answer streamed, as Lanes asks an upstream for it (it relays tokens as they come): all events
    /// in one write, so the upstream's cost stays as small as for the plain answer.</summary>
    private static readonly byte[] StreamedAnswer = Encoding.UTF8.GetBytes(string.Concat(
        Enumerable.Range(0, 16).Select(i =>
            $"data: {{\"id\":\"chatcmpl-canned\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"canned\",\"choices\":[{{\"index\":0,\"delta\":{{\"content\":\"{(i == 0 ? "" : " ")}tok{i}\"}},\"finish_reason\":null}}]}}\n\n"))
        + "data: {\"id\":\"chatcmpl-canned\",\"object\":\"chat.completion.chunk\",\"created\":1764000000,\"model\":\"canned\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":12,\"completion_tokens\":16,\"total_tokens\":28}}\n\n"
        + "data: [DONE]\n\n");

    /// <summary>The canned upstream's side: serves <see cref="Answer"/> (or <see cref="StreamedAnswer"/> when asked to
    /// stream) and prints its address.</summary>
    public static async Task ServeCannedAsync()
    {
        var builder = WebApplication.CreateSlimBuilder(["--urls", "http://127.0.0.1:0"]);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", async (HttpContext http) =>
        {
            using var body = new MemoryStream();
            await http.Request.Body.CopyToAsync(body);
            var streamed = body.GetBuffer().AsSpan(0, (int)body.Length).IndexOf("\"stream\":true"u8) >= 0;
            var answer = streamed ? StreamedAnswer : Answer;
            http.Response.ContentType = streamed ? "text/event-stream" : "application/json";
            http.Response.ContentLength = answer.Length;
            await http.Response.Body.WriteAsync(answer);
        });
        await app.StartAsync();
        Console.WriteLine(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        await Console.In.ReadLineAsync(); // until the parent closes our input
        await app.StopAsync();
    }

    private sealed record Cannon(double RequestsPerSecond, double P50Ms, double P99Ms, long Non2xx, long Errors);

    private static async Task<Cannon> AutocannonAsync(string node, Uri url, string[] headers, int seconds, int? overallRate = null)
    {
        List<string> args = [Path.Combine(node, "node_modules", ".bin", "autocannon"), "-j", "-c", Connections.ToString(), "-d", seconds.ToString(),
            "-m", "POST", "-H", "content-type: application/json", "-b", Body];
        foreach (var header in headers)
        {
            args.AddRange(["-H", header]);
        }

        if (overallRate is { } r)
        {
            args.AddRange(["-R", r.ToString()]);
        }

        args.Add(url.ToString());
        var output = await RunToEndAsync("node", node, [.. args]);
        using var json = JsonDocument.Parse(output);
        var root = json.RootElement;
        return new Cannon(
            root.GetProperty("requests").GetProperty("total").GetDouble() / root.GetProperty("duration").GetDouble(),
            root.GetProperty("latency").GetProperty("p50").GetDouble(),
            root.GetProperty("latency").GetProperty("p99").GetDouble(),
            root.GetProperty("non2xx").GetInt64(),
            root.GetProperty("errors").GetInt64());
    }

    private static async Task<string> RunToEndAsync(string program, string folder, params string[] args)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0 ? await output : throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed: {await errors}");
    }

    private static int FreePort()
    {
        using var socket = new TcpListener(System.Net.IPAddress.Loopback, 0);
        socket.Start();
        return ((System.Net.IPEndPoint)socket.LocalEndpoint).Port;
    }

    private static async Task WaitForPortAsync(int port)
    {
        var until = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(System.Net.IPAddress.Loopback, port);
                return;
            }
            catch (SocketException) when (until.Elapsed < TimeSpan.FromSeconds(60))
            {
                await Task.Delay(200); // Polling a child process's port: nothing to await instead.
            }
        }
    }

    /// <summary>A child process that ends when disposed; its output is read as it comes, so it never blocks on a full pipe.</summary>
    private sealed class Child : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly System.Threading.Channels.Channel<string> _lines = System.Threading.Channels.Channel.CreateUnbounded<string>();

        private Child(Process process)
        {
            _process = process;
            _ = PumpAsync();
            _ = process.StandardError.ReadToEndAsync();
        }

        public static Child Start(string program, string folder, params string[] args)
        {
            var start = new ProcessStartInfo(program)
            {
                WorkingDirectory = folder,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                Environment = { ["NODE_ENV"] = "production" },
            };
            start.Environment.Remove("DOTNET_DiagnosticPorts");
            foreach (var arg in args)
            {
                start.ArgumentList.Add(arg);
            }

            return new Child(Process.Start(start)!);
        }

        public async Task<string?> ReadLineAsync() => await _lines.Reader.WaitToReadAsync() ? await _lines.Reader.ReadAsync() : null;

        private async Task PumpAsync()
        {
            while (await _process.StandardOutput.ReadLineAsync() is { } line)
            {
                await _lines.Writer.WriteAsync(line);
            }

            _lines.Writer.Complete();
        }

        public async ValueTask DisposeAsync()
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(2_000))
            {
                _process.Kill(entireProcessTree: true);
            }

            await _process.WaitForExitAsync();
            _process.Dispose();
        }
    }
}
