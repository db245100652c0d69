using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

namespace Lanes.Gateway.Bench;

/// <param name="Cpu">Processor time the whole process used during the run (client and server together).</param>
/// <param name="Allocated">Bytes the whole process allocated during the run.</param>
internal sealed record LoadResult(
    int Requests, TimeSpan Elapsed, double P50Ms, double P99Ms, IReadOnlyDictionary<HttpStatusCode, int> Statuses, TimeSpan Cpu = default, long Allocated = 0)
{
    public double RequestsPerSecond => Requests / Elapsed.TotalSeconds;

    public double CpuMicrosecondsPerRequest => Cpu.TotalMicroseconds / Requests;

    public double BytesPerRequest => (double)Allocated / Requests;

    public int Count(HttpStatusCode status) => Statuses.GetValueOrDefault(status);
}

/// <summary>A closed-loop load: <c>concurrency</c> clients each send requests one after another until the total is sent.</summary>
internal static class Load
{
    public static readonly HttpClient Client = new(new SocketsHttpHandler { MaxConnectionsPerServer = 1024, PooledConnectionLifetime = TimeSpan.FromMinutes(10) })
    {
        Timeout = TimeSpan.FromMinutes(2),
    };

    public static Task<LoadResult> RunAsync(Uri url, string? secret, string body, int concurrency, int total) =>
        RunAsync(url, [secret], body, concurrency, total);

    /// <summary>The same load, request <c>i</c> sent with key <c>secrets[i % count]</c>: spread over many tenants.</summary>
    public static async Task<LoadResult> RunAsync(Uri url, IReadOnlyList<string?> secrets, string body, int concurrency, int total)
    {
        var latencies = new double[total];
        var statuses = new HttpStatusCode[total];
        var next = -1;
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < total)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
                if (secrets[i % secrets.Count] is { } secret)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
                }

                var started = Stopwatch.GetTimestamp();
                using var response = await Client.SendAsync(request);
                await response.Content.CopyToAsync(Stream.Null);
                latencies[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                statuses[i] = response.StatusCode;
            }
        }));
        var elapsed = watch.Elapsed;
        (cpu, allocated) = (Process.GetCurrentProcess().TotalProcessorTime - cpu, GC.GetTotalAllocatedBytes(precise: true) - allocated);
        Array.Sort(latencies);
        return new LoadResult(total, elapsed, Percentile(latencies, 0.50), Percentile(latencies, 0.99),
            statuses.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count()), cpu, allocated);
    }

    private static double Percentile(double[] sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
}
