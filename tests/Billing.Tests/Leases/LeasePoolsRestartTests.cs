using Lanes.Billing.GatewayContract;
using Lanes.Billing.Leases;
using Lanes.Billing.Tests.Subscriptions;

namespace Lanes.Billing.Tests.Leases;

/// <summary>Lease calls right after PostgreSQL restarted (a crash: every pooled connection died with it), as a gateway
/// makes them for a request waiting on a higher ceiling or a return.</summary>
public class LeasePoolsRestartTests(BillingOnItsOwnServer host) : IClassFixture<BillingOnItsOwnServer>
{
    private static readonly DateTimeOffset Window = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_ceiling_raised_right_after_the_database_restarted_is_raised_though_every_pooled_connection_died()
    {
        var (pools, pool) = await PoolWithConnectionsCutAsync();

        var renewed = await pools.RenewAsync("restart-0", [new LeaseRenewal(pool, Window, 8m)]);

        Assert.Equal((10m, 8m), (renewed.Single().Held, renewed.Single().Ceiling));
    }

    [Fact]
    public async Task A_return_right_after_the_database_restarted_is_given_back_though_every_pooled_connection_died()
    {
        var (pools, pool) = await PoolWithConnectionsCutAsync();

        await pools.ReleaseAsync(pool, Window, "restart-1", keep: 2m);

        Assert.Equal(32m, await pools.GrantedAsync(pool, Window));
    }

    /// <summary>Four holders leased 10 each at once (so the pool holds several connections), then the server crashed.</summary>
    private async Task<(LeasePools Pools, string Pool)> PoolWithConnectionsCutAsync()
    {
        var pools = host.Get<LeasePools>();
        var pool = ILeasePools.ForKey(Guid.NewGuid());
        await Task.WhenAll(Enumerable.Range(0, 4).Select(i => pools.GrantAsync(pool, Window, $"restart-{i}", 100m, 10m, 10m, spendable: 5m)));
        await host.Postgres.CrashAsync();
        return (pools, pool);
    }
}
