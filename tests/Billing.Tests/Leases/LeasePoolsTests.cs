using Lanes.Billing.Leases;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Leases;

public class LeasePoolsTests(BillingHost host) : IClassFixture<BillingHost>
{
    private static readonly DateTimeOffset Window = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task Nodes_racing_for_slices_are_never_granted_more_than_the_capacity_together()
    {
        var pools = host.Get<LeasePools>();
        var pool = LeasePools.ForKey(Guid.NewGuid());

        // 40 requests for 0.3 each against a capacity of 10: at most 10 in total, and every grant at least 0.1.
        var grants = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => pools.GrantAsync(pool, Window, 10m, 0.3m, 0.1m)));

        Assert.Equal(10m, grants.Sum());
        Assert.All(grants.Where(g => g > 0), g => Assert.InRange(g, 0.1m, 0.3m));
        Assert.Equal(10m, await pools.GrantedAsync(pool, Window));
        Assert.Equal(0m, await pools.GrantAsync(pool, Window, 10m, 0.3m, 0.1m));
    }

    [Fact]
    public async Task What_a_node_gives_back_can_be_granted_again_and_a_raised_capacity_counts_at_once()
    {
        var pools = host.Get<LeasePools>();
        var pool = LeasePools.ForKey(Guid.NewGuid());

        Assert.Equal(5m, await pools.GrantAsync(pool, Window, 5m, 5m, 1m));
        await pools.ReturnAsync(pool, Window, 2m);
        Assert.Equal(2m, await pools.GrantAsync(pool, Window, 5m, 3m, 1m));
        Assert.Equal(3m, await pools.GrantAsync(pool, Window, 8m, 3m, 1m));
        Assert.Equal(0m, await pools.GrantAsync(pool, Window.AddHours(-8), 0m, 1m, 1m));
    }

    [Fact]
    public async Task A_window_first_leased_after_usage_was_recorded_starts_from_that_usage()
    {
        var pools = host.Get<LeasePools>();
        var pool = LeasePools.ForKey(Guid.NewGuid());

        var granted = await pools.GrantAsync(pool, Window, 10m, 10m, 1m, alreadyUsed: 7m);

        Assert.Equal(3m, granted);
        Assert.Equal(0m, await pools.GrantAsync(pool, Window, 10m, 1m, 1m));
    }

    [Fact]
    public async Task Pools_of_windows_long_past_are_pruned_and_current_ones_kept()
    {
        var pools = host.Get<LeasePools>();
        var key = LeasePools.ForKey(Guid.NewGuid());
        await pools.GrantAsync(key, Window.AddDays(-40), 1m, 1m, 1m);
        await pools.GrantAsync(key, Window, 1m, 1m, 1m);

        await pools.DeleteBeforeAsync(Window.AddDays(-32));

        Assert.Equal(0m, await pools.GrantedAsync(key, Window.AddDays(-40)));
        Assert.Equal(1m, await pools.GrantedAsync(key, Window));
    }
}
