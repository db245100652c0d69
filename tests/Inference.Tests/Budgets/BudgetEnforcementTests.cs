using System.Net;
using Lanes.Billing.Keys;
using Lanes.Billing.Windows;
using Lanes.Inference.Metering;
using Microsoft.Extensions.Time.Testing;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Budgets;

/// <summary>The gateway on a fake clock, so windows end when the test says.</summary>
public sealed class GatewayOnFakeClock : GatewayOnKestrel
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 2, 10, 30, 0, TimeSpan.Zero));

    public override FakeTimeProvider? Clock => _clock;
}

public class BudgetEnforcementTests(GatewayOnFakeClock gateway) : IClassFixture<GatewayOnFakeClock>
{
    // 16 tokens out at $0.40/M and a short prompt at $0.10/M: about $0.0000066 a request.
    private const string Hello = """{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":16}""";

    [Fact]
    public async Task A_spent_key_gets_429_until_its_window_resets_then_works_again()
    {
        var (tenant, key) = await gateway.TenantWithKey(budget: 0.00001m);
        using var http = gateway.Http();

        using var first = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Hello));
        using var second = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Hello));

        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal((HttpStatusCode)429, second.StatusCode);
        Assert.Contains("budget_exhausted", await second.Content.ReadAsStringAsync());
        var untilReset = key.Key.WindowEnd - gateway.Clock!.GetUtcNow();
        Assert.Equal((long)Math.Ceiling(untilReset.TotalSeconds), long.Parse(Header(second, "Retry-After")!));
        Assert.Contains(key.Key.WindowEnd.ToString("u"), await second.Content.ReadAsStringAsync());

        // The window ends; the window job records its close and opens the next one.
        await gateway.Get<UsageFlusher>().FlushAsync(CancellationToken.None);
        gateway.Clock.SetUtcNow(key.Key.WindowEnd.AddSeconds(1));
        await gateway.Get<WindowRoller>().RollDueWindowsAsync();

        using var third = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Hello));
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        var closed = await gateway.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id);
        Assert.Equal(key.Key.WindowEnd, closed!.WindowStart);
    }

    [Fact]
    public async Task Concurrent_requests_never_spend_more_than_the_budget()
    {
        var (tenant, key) = await gateway.TenantWithKey(budget: 0.00007m); // about ten requests
        using var http = gateway.Http();

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(async _ =>
        {
            using var response = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Hello));
            return response.StatusCode;
        }));
        await gateway.Get<UsageFlusher>().FlushAsync(CancellationToken.None);

        var admitted = answers.Count(s => s == HttpStatusCode.OK);
        Assert.InRange(admitted, 5, 11);
        Assert.Equal(40 - admitted, answers.Count(s => s == (HttpStatusCode)429));
        var recorded = await gateway.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id);
        Assert.True(recorded!.WindowSpentUsd <= 0.00007m, $"spent {recorded.WindowSpentUsd}");
        Assert.Equal(admitted, recorded.WindowRequests);
        Assert.Equal(40 - admitted, recorded.WindowThrottled);
    }
}
