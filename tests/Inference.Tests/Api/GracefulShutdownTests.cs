using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using Lanes.Billing.Keys;
using Lanes.Billing.Usage;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Marten;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Api;

/// <summary>
/// The gateway as its own process, stopped with SIGTERM the way an orchestrator stops it, while a stream runs.
/// Billing is reached through a billing host on the same database.
/// </summary>
public sealed partial class GracefulShutdownTests(BillingHost billing) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task Sigterm_lets_a_running_stream_finish_refuses_new_requests_and_meters_everything()
    {
        // The gateway process runs on the real clock; so does billing here, so both see the same window.
        billing.Clock.SetUtcNow(DateTimeOffset.UtcNow);
        var tenant = await billing.Get<TenantService>().CreateAsync("drain", "Drain", "test");
        await billing.Get<SubscriptionService>().StartAsync(tenant.Id, "pro", "test");
        var key = await billing.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("drain", 5m), "test");

        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { typeof(Program).Assembly.Location, "--urls", "http://127.0.0.1:0" })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["ConnectionStrings__Lanes"] = billing.ConnectionString;
        start.Environment["Keys__Pepper"] = billing.Pepper;
        start.Environment["Engine__Kind"] = "scripted";
        start.Environment["Engine__Scripted__Tokens"] = "40";
        start.Environment["Engine__Scripted__TokenDelay"] = "00:00:00.030";
        start.Environment["Gateway__Metering__FlushInterval"] = "00:10:00";
        using var gateway = Process.Start(start)!;
        var servedBeforeTheDrain = 0;
        try
        {
            var address = await ListeningAddressAsync(gateway);
            using var http = new HttpClient { BaseAddress = address };
            using var response = await http.SendAsync(Post("/v1/chat/completions", key.Secret,
                """{"model":"scripted","messages":[{"role":"user","content":"long"}],"stream":true}"""), HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync());

            using (var term = Process.Start("kill", ["-TERM", gateway.Id.ToString()]))
            {
                await term.WaitForExitAsync();
            }

            // While it drains, a new request is refused (503 on a kept-alive connection, or no new connection at
            // all) so a load balancer sends it elsewhere. Note: one sent before the signal is handled is served (and
            // must be metered too), so those are counted.
            var refused = await Eventually.Get(async () =>
            {
                try
                {
                    using var fresh = new HttpClient { BaseAddress = address };
                    var answer = await fresh.SendAsync(Post("/v1/chat/completions", key.Secret, """{"model":"scripted","messages":[{"role":"user","content":"new"}]}"""));
                    servedBeforeTheDrain += answer.StatusCode == HttpStatusCode.OK ? 1 : 0;
                    return answer.StatusCode.ToString();
                }
                catch (HttpRequestException)
                {
                    return "connection refused";
                }
            }, s => s != nameof(HttpStatusCode.OK), TimeSpan.FromSeconds(5), "new requests to be refused");
            Assert.Contains(refused, new[] { nameof(HttpStatusCode.ServiceUnavailable), "connection refused" });

            var rest = await reader.ReadToEndAsync();
            Assert.Contains(" tok39", rest);
            Assert.EndsWith("data: [DONE]\n\n", rest);
            await gateway.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(0, gateway.ExitCode);
        }
        finally
        {
            if (!gateway.HasExited)
            {
                gateway.Kill(entireProcessTree: true);
            }
        }

        // The last flush ran after the stream ended: its 40 tokens reached billing, with any request served first.
        var metered = await billing.Get<KeyUsage>().WindowsOfAsync(tenant.Id, key.Key.Id);
        var requests = metered.Sum(w => w.Requests);
        var tokens = metered.Sum(w => w.OutputTokens);
        var served = 1 + servedBeforeTheDrain;
        Assert.True((served, 40L * served) == (requests, tokens), $"{requests} requests, {tokens} tokens for {served} served; gateway output: {await Output}");
    }

    private static Task<string> Output = Task.FromResult("");

    private static async Task<Uri> ListeningAddressAsync(Process process)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            if (Listening().Match(line) is { Success: true } m)
            {
                Output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
                _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
                return new Uri(m.Groups[1].Value);
            }
        }

        throw new InvalidOperationException($"The gateway exited before listening: {await process.StandardError.ReadToEndAsync()}");
    }

    [GeneratedRegex(@"Now listening on: (http://127\.0\.0\.1:\d+)")]
    private static partial Regex Listening();
}
