using System.Net;
using Lanes.Billing.Keys;
using Lanes.Inference.Auth;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Budgets;

/// <summary>A gateway whose key refresher the test stops: it goes on believing what it last read.</summary>
public sealed class GatewayWithStaleKeys : GatewayOnKestrel;

public class StaleBudgetTests(GatewayWithStaleKeys gateway) : IClassFixture<GatewayWithStaleKeys>
{
    private const string Hello = """{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":16}""";

    [Fact]
    public async Task A_lowered_budget_caps_the_next_lease_even_on_a_gateway_that_has_not_seen_the_change()
    {
        var (tenant, key) = await gateway.TenantWithKey(budget: 5m);
        await gateway.Get<KeyDirectoryRefresher>().StopAsync(CancellationToken.None);

        // Lowered below one request's worst case; this gateway still believes $5.
        await gateway.Get<KeyService>().ChangeBudgetAsync(tenant.Id, key.Key.Id, 0.000001m, "owner");
        Assert.Equal(5m, gateway.Get<KeyDirectory>().Find(key.Secret, DateTimeOffset.UtcNow)!.BudgetUsd);

        using var http = gateway.Http();
        using var response = await http.SendAsync(Post("/v1/chat/completions", key.Secret, Hello));

        Assert.Equal((HttpStatusCode)429, response.StatusCode);
        Assert.Contains("budget_exhausted", await response.Content.ReadAsStringAsync());
    }
}
