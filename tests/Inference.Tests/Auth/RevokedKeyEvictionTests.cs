using System.Net;
using System.Net.Http.Headers;
using Lanes.Billing.Keys;
using Lanes.Inference.Auth;
using Microsoft.Extensions.Time.Testing;

namespace Lanes.Inference.Tests.Auth;

/// <summary>A gateway on a clock of its own, which the test moves a month on.</summary>
public sealed class GatewayAMonthOn : GatewayOnKestrel
{
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 11, 2, 10, 30, 0, TimeSpan.Zero));

    public override FakeTimeProvider? Clock => _clock;
}

public class RevokedKeyEvictionTests(GatewayAMonthOn gateway) : IClassFixture<GatewayAMonthOn>
{
    private async Task<(HttpStatusCode Status, string Body)> ModelsAsync(string secret)
    {
        using var http = gateway.Http();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task A_revoked_key_is_answered_as_revoked_for_thirty_days_then_leaves_the_gateways_memory()
    {
        var (tenant, key) = await gateway.TenantWithKey("pro");
        await gateway.Get<KeyService>().RevokeAsync(tenant.Id, key.Key.Id, RevocationReason.Staff, "staff-1");
        var refresher = gateway.Get<KeyDirectoryRefresher>();
        await refresher.RefreshAsync(CancellationToken.None);
        var held = gateway.Get<KeyDirectory>().KeyCount;

        var (status, body) = await ModelsAsync(key.Secret);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("key_revoked", body);

        gateway.Clock!.Advance(KeyDirectory.RevokedKeptFor + TimeSpan.FromDays(1));
        await refresher.RefreshAsync(CancellationToken.None);

        (status, body) = await ModelsAsync(key.Secret);
        Assert.Equal(HttpStatusCode.Unauthorized, status);
        Assert.Contains("invalid_api_key", body);
        Assert.Equal(held - 1, gateway.Get<KeyDirectory>().KeyCount);
    }
}
