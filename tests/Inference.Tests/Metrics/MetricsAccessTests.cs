using System.Net;
using System.Net.Http.Headers;
using OpenAI.Chat;

namespace Lanes.Inference.Tests.Metrics;

/// <summary>A gateway whose metrics are scraped with a token (as in a cluster, where the API port is public).</summary>
public sealed class GatewayWithScrapeToken : GatewayOnKestrel
{
    public const string Token = "scrape-token-for-the-collector";

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Metrics:ScrapeToken", Token)];
}

public class MetricsAccessTests(GatewayWithScrapeToken gateway) : IClassFixture<GatewayWithScrapeToken>
{
    [Fact]
    public async Task Metrics_scraped_anonymously_answer_401_without_any_tenant_id_and_the_collector_gets_them_with_its_token()
    {
        var (tenant, key) = await gateway.TenantWithKey();
        await gateway.Chat(key.Secret).CompleteChatAsync([new UserChatMessage("hi")]);
        using var http = gateway.Http();

        using var anonymous = await http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.DoesNotContain(tenant.Id.ToString(), await anonymous.Content.ReadAsStringAsync());

        using var wrong = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", "guess") } };
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(wrong)).StatusCode);

        var scraped = await Testing.Eventually.Get(async () =>
            {
                using var collector = new HttpRequestMessage(HttpMethod.Get, "/metrics") { Headers = { Authorization = new AuthenticationHeaderValue("Bearer", GatewayWithScrapeToken.Token) } };
                return await (await http.SendAsync(collector)).Content.ReadAsStringAsync();
            },
            m => m.Contains("lanes_gateway_lanes_reserved", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "the reserved lanes gauge");
        Assert.Contains(tenant.Id.ToString(), scraped);
    }
}
