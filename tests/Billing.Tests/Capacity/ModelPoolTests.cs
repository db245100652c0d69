using Lanes.Billing.Capacity;
using Lanes.Billing.Occupancy;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Shared.Plans;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Capacity;

/// <summary>A fleet of two model pools: the default one (a small model) and <c>qwen-72b</c>, whose GPUs hold a large
/// one. Pro sells from the default pool, Big from the 72B pool.</summary>
public sealed class TwoPoolHost : BillingHost
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
    [
        new("Capacity:Source", "Fleet"), new("Capacity:TrialLanes", "0"), new("Capacity:NodeTimeout", "00:00:15"),
        .. PlanTierSettings.Tier(0, "pro", lanes: 6, pool: null, model: "tiny"),
        .. PlanTierSettings.Tier(1, "big", lanes: 4, pool: "qwen-72b", model: "qwen-72b"),
    ];
}

public sealed class ModelPoolTests : IAsyncLifetime
{
    private const string Large = "qwen-72b";
    private readonly TwoPoolHost _host = new();

    public Task InitializeAsync() => _host.InitializeAsync();

    public Task DisposeAsync() => _host.DisposeAsync();

    private DateTimeOffset Now => _host.Clock.GetUtcNow();

    private Task ReportAsync(string gateway, int slots, string? pool = null, params string[] models) =>
        _host.Get<LaneOccupancyStore>().ReportAsync(new GatewayOccupancy(gateway, Now, slots, [], pool, models));

    private async Task<Guid> TenantOnAsync(string plan)
    {
        var tenant = await _host.Get<TenantService>().CreateAsync($"p-{Guid.NewGuid():N}"[..20], "Pool tenant", "test");
        await _host.Get<SubscriptionService>().StartAsync(tenant.Id, plan, "test");
        return tenant.Id;
    }

    private static async Task<RuleViolation> RefusedAsync(Func<Task> sale) => await Assert.ThrowsAsync<RuleViolation>(sale);

    private Task<CapacityReport> LedgerAsync() => _host.Get<CapacityLedgerView>().ReadAsync();

    [Fact]
    public async Task Lanes_are_sold_per_model_pool_and_one_pools_gateways_make_no_room_for_another_pools_plans()
    {
        await ReportAsync("small-a", 8, null, "tiny");
        await ReportAsync("large-a", 8, Large, Large);
        await TenantOnAsync("pro");                                                            // 6 of the default pool's 8

        // The fleet has 10 free slots, but none of them in the default pool's gateways.
        Assert.Equal("capacity_exceeded", (await RefusedAsync(() => TenantOnAsync("pro"))).Code);
        await TenantOnAsync("big");
        await TenantOnAsync("big");                                                            // 8 of the 72B pool's 8
        var full = await RefusedAsync(() => TenantOnAsync("big"));
        Assert.Contains($"'{Large}' pool's 8", full.Message, StringComparison.Ordinal);

        var ledger = await LedgerAsync();
        Assert.Equal([ModelPools.Default, Large], ledger.Pools.Select(p => p.Pool));
        Assert.Equal((8, 6, 2, 8), (ledger.Pool(ModelPools.Default).Now.SellableLanes, ledger.Pool(ModelPools.Default).SoldLanes,
            ledger.Pool(ModelPools.Default).FreeLanes, ledger.Pool(ModelPools.Default).Now.LiveSlots));
        Assert.Equal((8, 8, 0), (ledger.Pool(Large).Now.SellableLanes, ledger.Pool(Large).SoldLanes, ledger.Pool(Large).FreeLanes));
        Assert.Equal(["big"], ledger.Pool(Large).Plans);
        Assert.Equal((16, 14, 2), (ledger.SellableLanes, ledger.SoldLanes, ledger.FreeLanes));
    }

    [Fact]
    public async Task A_plan_change_to_another_pool_needs_all_its_lanes_there_and_frees_the_old_pools()
    {
        await ReportAsync("small-a", 8, null, "tiny");
        await ReportAsync("large-a", 4, Large, Large);
        var mover = await TenantOnAsync("pro");
        var holder = await TenantOnAsync("big");                                               // the 72B pool is full

        // Big holds fewer lanes than Pro, but none of them are free where Big runs.
        Assert.Equal("capacity_exceeded", (await RefusedAsync(() => _host.Get<SubscriptionService>().ChangePlanAsync(mover, "big", "staff-1"))).Code);
        Assert.Equal("pro", (await _host.Get<SubscriptionService>().FindAsync(mover))!.PlanId);

        await _host.Get<SubscriptionService>().EndAsync(holder, "test", "staff-1");
        await _host.Get<SubscriptionService>().ChangePlanAsync(mover, "big", "staff-1");

        var ledger = await LedgerAsync();
        Assert.Equal((0, 4), (ledger.Pool(ModelPools.Default).SoldLanes, ledger.Pool(Large).SoldLanes));
    }

    [Fact]
    public async Task A_lost_gateway_leaves_lanes_unplaced_only_in_its_own_pool_and_a_plan_for_one_pool_sells_only_there()
    {
        await ReportAsync("small-a", 8, null, "tiny");
        await ReportAsync("large-a", 4, Large, Large);
        await ReportAsync("large-b", 4, Large, Large);
        await TenantOnAsync("pro");
        await TenantOnAsync("big");
        await TenantOnAsync("big");

        // large-b is lost: past the node timeout only the gateways that still report count.
        _host.Clock.Advance(TimeSpan.FromSeconds(16));
        await ReportAsync("small-a", 8, null, "tiny");
        await ReportAsync("large-a", 4, Large, Large);
        var ledger = await LedgerAsync();
        Assert.Equal((0, 4), (ledger.Pool(ModelPools.Default).UnplacedLanes, ledger.Pool(Large).UnplacedLanes));

        // Two more 72B nodes are on their way: from their effective time the 72B pool sells against them, the default
        // pool does not move.
        await _host.Get<CapacityLedgerView>().PlanAsync(16, Now.AddHours(1), "two 72B nodes", "operator", Large);
        Assert.Equal("capacity_exceeded", (await RefusedAsync(() => TenantOnAsync("big"))).Code);
        _host.Clock.Advance(TimeSpan.FromHours(1));
        await ReportAsync("small-a", 8, null, "tiny");
        await ReportAsync("large-a", 4, Large, Large);
        await TenantOnAsync("big");

        ledger = await LedgerAsync();
        Assert.Equal((16, 12, 8), (ledger.Pool(Large).Now.SellableLanes, ledger.Pool(Large).SoldLanes, ledger.Pool(Large).UnplacedLanes));
        Assert.Equal((8, 6), (ledger.Pool(ModelPools.Default).Now.SellableLanes, ledger.Pool(ModelPools.Default).SoldLanes));
        var changes = await _host.Get<CapacityLedgerView>().ChangesAsync(Now.AddDays(-1));
        Assert.Contains(changes, c => c.What.StartsWith($"Planned fleet of 16 slots in pool {Large}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Staff_are_shown_a_pool_whose_gateways_do_not_serve_its_plans_models()
    {
        await ReportAsync("small-a", 8, null, "tiny");
        await ReportAsync("large-a", 8, Large, "qwen-7b");

        var ledger = await LedgerAsync();

        Assert.Equal([Large], ledger.Pool(Large).UnservedModels);
        Assert.Empty(ledger.Pool(ModelPools.Default).UnservedModels);
        Assert.Equal(["qwen-7b"], ledger.Pool(Large).Now.Models);
    }
}
