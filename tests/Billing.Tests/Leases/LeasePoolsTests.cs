using Lanes.Billing.Leases;
using Lanes.Testing;
using Npgsql;

namespace Lanes.Billing.Tests.Leases;

public class LeasePoolsTests(BillingHost host) : IClassFixture<BillingHost>
{
    private static readonly DateTimeOffset Window = new(2026, 11, 2, 8, 0, 0, TimeSpan.Zero);

    private static string Holder() => $"test/{Guid.NewGuid():N}";

    [Fact]
    public async Task Nodes_racing_for_slices_are_never_granted_more_than_the_capacity_together()
    {
        var pools = host.Get<LeasePools>();
        var pool = LeasePools.ForKey(Guid.NewGuid());
        var holders = Enumerable.Range(0, 4).Select(_ => Holder()).ToArray();

        // 40 requests for 0.3 each from four gateways against a capacity of 10: at most 10 in total, every grant at
        // least 0.1, and what each gateway holds is what it was granted.
        var grants = await Task.WhenAll(Enumerable.Range(0, 40).Select(i => pools.GrantAsync(pool, Window, holders[i % 4], 10m, 0.3m, 0.1m, spendable: 10m)));

        Assert.Equal(10m, grants.Sum(g => g.Granted));
        Assert.All(grants.Where(g => g.Granted > 0), g => Assert.InRange(g.Granted, 0.1m, 0.3m));
        Assert.Equal(10m, await pools.GrantedAsync(pool, Window));
        Assert.Equal(0m, (await pools.GrantAsync(pool, Window, holders[0], 10m, 0.3m, 0.1m, spendable: 10m)).Granted);
    }

    [Fact]
    public async Task What_a_node_gives_back_can_be_granted_again_once_however_often_it_is_sent_and_a_raised_capacity_counts_at_once()
    {
        var pools = host.Get<LeasePools>();
        var pool = LeasePools.ForKey(Guid.NewGuid());
        var (one, two) = (Holder(), Holder());

        Assert.Equal(5m, (await pools.GrantAsync(pool, Window, one, 5m, 5m, 1m, spendable: 5m)).Granted);
        await pools.ReleaseAsync(pool, Window, one, keep: 3m);
        await pools.ReleaseAsync(pool, Window, one, keep: 3m); // a retry of a release that did commit
        Assert.Equal(2m, (await pools.GrantAsync(pool, Window, two, 5m, 3m, 1m, spendable: 3m)).Granted);
        Assert.Equal(3m, (await pools.GrantAsync(pool, Window, two, 8m, 3m, 1m, spendable: 5m)).Granted);
        Assert.Equal(0m, (await pools.GrantAsync(pool, Window.AddHours(-8), one, 0m, 1m, 1m, spendable: 1m)).Granted);
    }

    [Fact]
    public async Task A_window_first_leased_after_usage_was_recorded_starts_from_that_usage()
    {
        var pools = host.Get<LeasePools>();
        var pool = LeasePools.ForKey(Guid.NewGuid());

        var granted = await pools.GrantAsync(pool, Window, Holder(), 10m, 10m, 1m, spendable: 10m, alreadyUsed: 7m);

        Assert.Equal(3m, granted.Granted);
        Assert.Equal(0m, (await pools.GrantAsync(pool, Window, Holder(), 10m, 1m, 1m, spendable: 1m)).Granted);
    }

    [Fact]
    public async Task A_ceiling_is_raised_only_as_far_as_the_holder_holds_and_never_lowered_by_a_renewal()
    {
        var pools = host.Get<LeasePools>();
        var pool = LeasePools.ForKey(Guid.NewGuid());
        var holder = Holder();

        var grant = await pools.GrantAsync(pool, Window, holder, 10m, 4m, 1m, spendable: 1.5m);
        var raised = await pools.RenewAsync(holder, [new LeaseRenewal(pool, Window, 9m)]);
        var lowered = await pools.RenewAsync(holder, [new LeaseRenewal(pool, Window, 2m)]);

        Assert.Equal(new LeaseGrant(4m, 4m, 1.5m, Left: 6m), grant);
        Assert.Equal(4m, Assert.Single(raised).Ceiling);
        Assert.Equal(4m, Assert.Single(lowered).Ceiling);
    }

    [Fact]
    public async Task A_holder_refused_from_a_pool_makes_it_wanted_by_its_other_holders_only()
    {
        var pools = host.Get<LeasePools>();
        var (pool, elsewhere) = (LeasePools.ForKey(Guid.NewGuid()), LeasePools.ForKey(Guid.NewGuid()));
        var (idle, refused) = (Holder(), Holder());
        await pools.GrantAsync(pool, Window, idle, 10m, 6m, 1m, spendable: 1m);
        await pools.GrantAsync(elsewhere, Window, idle, 10m, 6m, 1m, spendable: 1m);
        Assert.Empty(await pools.WantedAsync(idle, TimeSpan.FromMinutes(1)));

        var first = await pools.GrantAsync(pool, Window, refused, 10m, 4m, 1m, spendable: 1m);
        var second = await pools.GrantAsync(pool, Window, refused, 10m, 4m, 1m, spendable: 1m);

        Assert.Equal((4m, 0m), (first.Granted, first.Left));
        Assert.Equal(0m, second.Granted);
        Assert.Equal([(pool, Window)], await pools.WantedAsync(idle, TimeSpan.FromMinutes(1)));
    }

    [Fact]
    public async Task What_a_silent_gateway_held_above_its_ceiling_goes_back_once_and_a_live_gateway_keeps_its_lease()
    {
        var pools = host.Get<LeasePools>();
        var pool = LeasePools.ForKey(Guid.NewGuid());
        var (silent, live) = (Holder(), Holder());
        await pools.GrantAsync(pool, Window, silent, 10m, 4m, 1m, spendable: 1m);
        await pools.GrantAsync(pool, Window, live, 10m, 4m, 1m, spendable: 1m);
        await SilenceAsync(silent, TimeSpan.FromMinutes(1));

        var reclaimed = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => pools.ReclaimAsync(TimeSpan.FromSeconds(30))));

        // The silent gateway may have spent up to its ceiling (1), so it keeps that; the other 3 can be leased again.
        Assert.Equal(1, reclaimed.Sum());
        Assert.Equal(5m, await pools.GrantedAsync(pool, Window));
        var back = await pools.RenewAsync(silent, [new LeaseRenewal(pool, Window, 4m)]);
        Assert.Equal(new HeldLease(pool, Window, 1m, 1m), Assert.Single(back));
    }

    [Fact]
    public async Task Pools_of_windows_long_past_are_pruned_and_current_ones_kept()
    {
        var pools = host.Get<LeasePools>();
        var key = LeasePools.ForKey(Guid.NewGuid());
        var holder = Holder();
        await pools.GrantAsync(key, Window.AddDays(-40), holder, 1m, 1m, 1m, spendable: 1m);
        await pools.GrantAsync(key, Window, holder, 1m, 1m, 1m, spendable: 1m);

        await pools.DeleteBeforeAsync(Window.AddDays(-32));

        Assert.Equal(0m, await pools.GrantedAsync(key, Window.AddDays(-40)));
        Assert.Equal(1m, await pools.GrantedAsync(key, Window));
    }

    /// <summary>Makes a holder's last heartbeat <paramref name="ago"/> old, as a gateway killed that long ago.</summary>
    private async Task SilenceAsync(string holder, TimeSpan ago)
    {
        await using var database = NpgsqlDataSource.Create(host.ConnectionString);
        await using var command = database.CreateCommand("update lanes.lease_holders set renewed_at = now() - $2 where holder = $1");
        command.Parameters.AddWithValue(holder);
        command.Parameters.AddWithValue(ago);
        Assert.Equal(1, await command.ExecuteNonQueryAsync());
    }
}
