using System.Net;
using Lanes.Portal.Tests.Account;

namespace Lanes.Portal.Tests.Security;

[Collection(PortalHosts.Name)]
public class RateLimitTests(SecuredPortal portal) : IClassFixture<SecuredPortal>
{
    [Fact]
    public async Task Guessing_client_secrets_at_the_token_endpoint_is_cut_off_with_retry_after()
    {
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 61; i++)
        {
            using var guess = await portal.RequestTokenAsync($"client-{i}", $"guess-{i}");
            statuses.Add(guess.StatusCode);
            if (guess.StatusCode == HttpStatusCode.TooManyRequests)
            {
                Assert.True(guess.Headers.RetryAfter?.Delta > TimeSpan.Zero);
            }
        }

        Assert.Equal(60, statuses.Count(s => s != HttpStatusCode.TooManyRequests)); // RateLimits:TokensPerMinutePerAddress
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
    }

    [Fact]
    public async Task One_user_hammering_the_billing_api_is_slowed_and_another_user_is_not()
    {
        var (hammering, _) = await portal.ConfirmedOwnerAsync();
        var (other, _) = await portal.ConfirmedOwnerAsync();

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 61; i++)
        {
            using var response = await hammering.GetAsync("/billing/api/subscription");
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(60, statuses.Count(s => s == HttpStatusCode.OK)); // RateLimits:BillingCallsPerMinutePerUser
        Assert.Equal(HttpStatusCode.TooManyRequests, statuses[^1]);
        Assert.Equal(HttpStatusCode.OK, (await other.GetAsync("/billing/api/subscription")).StatusCode);
    }
}
