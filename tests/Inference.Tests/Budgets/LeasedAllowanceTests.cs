using Lanes.Billing.Keys;
using Lanes.Billing.Leases;
using Lanes.Inference.Budgets;
using Lanes.Inference.Infrastructure;
using Microsoft.Extensions.Configuration;
using Lanes.Shared.Windows;
using Lanes.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Tests.Budgets;

/// <summary>Two gateways' ledgers sharing one PostgreSQL pool, as two processes would.</summary>
public class LeasedAllowanceTests(BillingHost host) : IClassFixture<BillingHost>
{
    // Note: a database call here may take longer than a request would wait for one (the production 750 ms) when the
    // test database is cold or the cores busy; a call cut short by that timeout refuses a hold and changes what the
    // test counts, so these tests wait as long as a lease takes.
    private static readonly IOptions<BudgetLeaseOptions> Options = Microsoft.Extensions.Options.Options.Create(
        new BudgetLeaseOptions { IdleReturn = TimeSpan.FromSeconds(2), DatabaseTimeout = TimeSpan.FromSeconds(30) });

    /// <summary>A gateway process of its own (its own lease holder).</summary>
    private static GatewayNode Gateway() => new(new ConfigurationBuilder().Build());

    [Fact]
    public async Task Two_gateways_together_start_at_most_the_plans_requests_per_window_and_a_restart_does_not_reset_it()
    {
        var tenant = Guid.NewGuid();
        var window = WindowSchedule.At(host.Clock.GetUtcNow(), TimeSpan.FromHours(8));
        var one = new RequestWindows(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var two = new RequestWindows(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);

        var counted = 0;
        for (var i = 0; i < 30; i++)
        {
            counted += await (i % 2 == 0 ? one : two).TryCountAsync(tenant, window, limit: 10, CancellationToken.None) is null ? 0 : 1;
        }

        var restarted = new RequestWindows(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        Assert.Equal(10, counted);
        Assert.Null(await restarted.TryCountAsync(tenant, window, limit: 10, CancellationToken.None));
    }

    [Fact]
    public async Task Allowance_an_idle_gateway_did_not_use_goes_back_to_the_others()
    {
        var tenant = Guid.NewGuid();
        var window = WindowSchedule.At(host.Clock.GetUtcNow(), TimeSpan.FromHours(8));
        var busy = new RequestWindows(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var idle = new RequestWindows(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);

        Assert.NotNull(await idle.TryCountAsync(tenant, window, limit: 4, CancellationToken.None)); // leases 1 of 4
        var before = 0;
        while (await busy.TryCountAsync(tenant, window, limit: 4, CancellationToken.None) is not null)
        {
            before++;
        }

        host.Clock.Advance(TimeSpan.FromSeconds(3));
        await idle.ReturnUnusedAsync(everything: false, CancellationToken.None);
        host.Clock.Advance(TimeSpan.FromSeconds(2));
        var after = await busy.TryCountAsync(tenant, window, limit: 4, CancellationToken.None);

        Assert.Equal(3, before);
        Assert.Null(after); // the idle gateway used its one request: nothing to give back
        Assert.Equal(4m, await host.Get<LeasePools>().GrantedAsync(LeasePools.ForTenantRequests(tenant), window.Start));
    }

    [Fact]
    public async Task Two_gateways_budgets_together_never_hold_more_than_the_key_budget_and_unused_slices_return()
    {
        var key = (new ApiKey { Id = Guid.NewGuid(), BudgetUsd = 1m, WindowLength = TimeSpan.FromHours(8) }).ToStatus();
        var one = new BudgetLedger(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var two = new BudgetLedger(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var now = host.Clock.GetUtcNow();

        var holds = new List<Hold>();
        for (var i = 0; i < 12; i++)
        {
            var (hold, _) = await (i % 2 == 0 ? one : two).TryHoldAsync(key, 0.1m, now, CancellationToken.None);
            if (hold is not null)
            {
                holds.Add(hold);
            }
        }

        Assert.Equal(10, holds.Count);

        // Gateway two settles its requests at half their hold and goes idle: what it did not spend goes back.
        foreach (var hold in holds.Skip(1).Where((_, i) => i % 2 == 0))
        {
            two.Settle(hold, 0.05m);
        }

        host.Clock.Advance(Options.Value.IdleRelease + TimeSpan.FromSeconds(1));
        await two.ReturnUnusedAsync(everything: false, CancellationToken.None);
        var window = WindowSchedule.At(now, key.WindowLength);
        Assert.Equal(0.75m, await host.Get<LeasePools>().GrantedAsync(LeasePools.ForKey(key.Id), window.Start));
    }

    [Fact]
    public async Task A_key_idle_on_a_pool_with_plenty_left_keeps_its_slice_and_gives_back_what_it_did_not_spend_when_idle_long()
    {
        var key = (new ApiKey { Id = Guid.NewGuid(), BudgetUsd = 1m, WindowLength = TimeSpan.FromHours(8) }).ToStatus();
        var ledger = new BudgetLedger(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var now = host.Clock.GetUtcNow();
        var pool = (LeasePools.ForKey(key.Id), WindowSchedule.At(now, key.WindowLength).Start);
        var (first, _) = await ledger.TryHoldAsync(key, 0.1m, now, CancellationToken.None); // leases a 0.25 slice; 0.75 left for others
        ledger.Settle(first!, 0.1m);

        host.Clock.Advance(Options.Value.IdleReturn + TimeSpan.FromSeconds(1));
        await ledger.ReturnUnusedAsync(everything: false, CancellationToken.None);
        var keptWhileIdleAMoment = await host.Get<LeasePools>().GrantedAsync(pool.Item1, pool.Item2);

        // The next request is served from what was kept: the pool grants nothing more.
        var (second, _) = await ledger.TryHoldAsync(key, 0.1m, host.Clock.GetUtcNow(), CancellationToken.None);
        ledger.Settle(second!, 0.1m);
        var grantedForTheNext = await host.Get<LeasePools>().GrantedAsync(pool.Item1, pool.Item2);

        host.Clock.Advance(Options.Value.IdleRelease + TimeSpan.FromSeconds(1));
        await ledger.ReturnUnusedAsync(everything: false, CancellationToken.None);

        Assert.Equal((0.25m, 0.25m), (keptWhileIdleAMoment, grantedForTheNext));
        Assert.Equal(0.2m, await host.Get<LeasePools>().GrantedAsync(pool.Item1, pool.Item2)); // spent, and nothing more
    }

    [Fact]
    public async Task Once_another_gateway_is_refused_from_the_pool_a_key_idle_here_gives_back_all_but_one_requests_worth_and_the_other_is_served()
    {
        var key = (new ApiKey { Id = Guid.NewGuid(), BudgetUsd = 1m, WindowLength = TimeSpan.FromHours(8) }).ToStatus();
        var idle = new BudgetLedger(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var busy = new BudgetLedger(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var now = host.Clock.GetUtcNow();
        var (first, _) = await idle.TryHoldAsync(key, 0.1m, now, CancellationToken.None); // leases 0.25 of 1
        idle.Settle(first!, 0.1m);

        // The busy gateway leases the other 0.75 and spends 0.7 of it; its next request finds the pool empty.
        var served = 0;
        while (await busy.TryHoldAsync(key, 0.1m, now, CancellationToken.None) is ({ } hold, _))
        {
            busy.Settle(hold, 0.1m);
            served++;
        }

        host.Clock.Advance(Options.Value.IdleReturn + TimeSpan.FromSeconds(1));
        await idle.ReturnUnusedAsync(everything: false, CancellationToken.None);
        var (afterGiveBack, _) = await busy.TryHoldAsync(key, 0.1m, host.Clock.GetUtcNow(), CancellationToken.None);

        Assert.Equal(7, served);
        Assert.NotNull(afterGiveBack); // its last 0.05, and the 0.05 the idle gateway did not need for its own next request
        var window = WindowSchedule.At(now, key.WindowLength);
        Assert.Equal(1m, await host.Get<LeasePools>().GrantedAsync(LeasePools.ForKey(key.Id), window.Start));
    }

    [Fact]
    public async Task A_lowered_budget_applies_at_once_though_a_bigger_slice_was_leased_under_the_old_one()
    {
        var key = (new ApiKey { Id = Guid.NewGuid(), BudgetUsd = 1m, WindowLength = TimeSpan.FromHours(8) }).ToStatus();
        var ledger = new BudgetLedger(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var now = host.Clock.GetUtcNow();
        var (first, _) = await ledger.TryHoldAsync(key, 0.1m, now, CancellationToken.None); // leases a 0.25 slice
        ledger.Settle(first!, 0.1m);

        var (second, _) = await ledger.TryHoldAsync(key with { BudgetUsd = 0.15m }, 0.1m, now, CancellationToken.None);
        await ledger.ReturnUnusedAsync(everything: false, CancellationToken.None);

        Assert.Null(second);
        Assert.Equal(0.1m, await host.Get<LeasePools>().GrantedAsync(LeasePools.ForKey(key.Id), WindowSchedule.At(now, key.WindowLength).Start));
    }

    [Fact]
    public async Task A_request_that_waited_across_a_window_boundary_counts_in_the_new_window_and_does_not_roll_the_key_back()
    {
        var key = (new ApiKey { Id = Guid.NewGuid(), BudgetUsd = 1m, WindowLength = TimeSpan.FromHours(8) }).ToStatus();
        var ledger = new BudgetLedger(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), Gateway(), Options, host.Clock);
        var window = WindowSchedule.At(host.Clock.GetUtcNow(), key.WindowLength);
        var (current, _) = await ledger.TryHoldAsync(key, 0.2m, window.Start.AddMinutes(1), CancellationToken.None);

        var (late, view) = await ledger.TryHoldAsync(key, 0.1m, window.Start.AddSeconds(-1), CancellationToken.None);

        Assert.Equal(window.Start, late!.WindowStart);
        Assert.Equal(0.3m, view.HeldUsd);
        Assert.Equal(window.Start, current!.WindowStart);
    }
}
