using System.Diagnostics;
using System.Net;
using System.Text.Json;

namespace Lanes.Gateway.Bench;

/// <summary>
/// The closed-loop load of <see cref="Load"/> sent from a separate process (this bench started again as
/// <c>load-generator</c>), so the gateway's process CPU and allocations are the gateway's alone and the client does not
/// share the gateway's runtime, thread pool or GC.
/// </summary>
/// <remarks>The child warms its own client up first, says <c>ready</c>, and starts on <c>go</c>: the parent reads its
/// CPU and allocation counters in between, so neither process's start-up is counted.</remarks>
internal static class ExternalLoad
{
    private const int WarmUp = 2_000;

    public static Task<LoadResult> RunAsync(Uri url, string? secret, string body, int concurrency, int total) =>
        RunAsync(url, [secret], body, concurrency, total);

    public static async Task<LoadResult> RunAsync(Uri url, IReadOnlyList<string?> secrets, string body, int concurrency, int total)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };

        // A bench traced with dotnet-trace hands its diagnostics port down: the client must not wait on it.
        start.Environment.Remove("DOTNET_DiagnosticPorts");
        foreach (var arg in new[] { typeof(ExternalLoad).Assembly.Location, "load-generator", url.ToString(), concurrency.ToString(), total.ToString() })
        {
            start.ArgumentList.Add(arg);
        }

        using var child = Process.Start(start)!;
        await child.StandardInput.WriteLineAsync(JsonSerializer.Serialize(new Order(body, secrets)));
        await child.StandardInput.FlushAsync();
        if (await child.StandardOutput.ReadLineAsync() != "ready")
        {
            throw new InvalidOperationException("The load generator did not start.");
        }

        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        await child.StandardInput.WriteLineAsync("go");
        await child.StandardInput.FlushAsync();
        var report = JsonSerializer.Deserialize<Report>((await child.StandardOutput.ReadLineAsync())!)!;
        (cpu, allocated) = (Process.GetCurrentProcess().TotalProcessorTime - cpu, GC.GetTotalAllocatedBytes(precise: true) - allocated);
        await child.WaitForExitAsync();
        return new LoadResult(report.Requests, TimeSpan.FromMilliseconds(report.ElapsedMs), report.P50Ms, report.P99Ms,
            report.Statuses.ToDictionary(s => (HttpStatusCode)s.Key, s => s.Value), cpu, allocated);
    }

    /// <summary>The child's side: <c>load-generator url concurrency total</c>, the body and keys on the first line of
    /// standard input.</summary>
    public static async Task GenerateAsync(string[] args)
    {
        var (url, concurrency, total) = (new Uri(args[0]), int.Parse(args[1]), int.Parse(args[2]));
        var order = JsonSerializer.Deserialize<Order>((await Console.In.ReadLineAsync())!)!;
        await Load.RunAsync(url, order.Secrets, order.Body, concurrency, Math.Min(WarmUp, total));
        Console.WriteLine("ready");
        if (await Console.In.ReadLineAsync() != "go")
        {
            return;
        }

        var result = await Load.RunAsync(url, order.Secrets, order.Body, concurrency, total);
        Console.WriteLine(JsonSerializer.Serialize(new Report(
            result.Requests, result.Elapsed.TotalMilliseconds, result.P50Ms, result.P99Ms, result.Statuses.ToDictionary(s => (int)s.Key, s => s.Value))));
    }

    private sealed record Order(string Body, IReadOnlyList<string?> Secrets);

    private sealed record Report(int Requests, double ElapsedMs, double P50Ms, double P99Ms, Dictionary<int, int> Statuses);
}
