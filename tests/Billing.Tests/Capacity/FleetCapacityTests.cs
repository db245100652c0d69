using Lanes.Billing.Capacity;
using Lanes.Billing.Occupancy;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Shared.Plans;
using Lanes.Testing;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Tests.Capacity;

/// <summary>Capacity from the fleet: what the gateways' occupancy reports say their engines run, no trial pool, no
/// spare node. A fresh database per test, so each starts with an empty fleet.</summary>
public sealed class FleetHost : BillingHost
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [new("Capacity:Source", "Fleet"), new("Capacity:TrialLanes", "0"), new("Capacity:NodeTimeout", "00:00:15")];
}

public sealed class FleetCapacityTests : IAsyncLifetime
{
    private readonly FleetHost _host = new();

    public Task InitializeAsync() => _host.InitializeAsync();

    public Task DisposeAsync() => _host.DisposeAsync();

    private DateTimeOffset Now => _host.Clock.GetUtcNow();

    /// <summary>What a gateway does every few seconds: its engine slots, as a heartbeat.</summary>
    private Task ReportAsync(string gateway, int slots) =>
        _host.Get<LaneOccupancyStore>().ReportAsync(new GatewayOccupancy(gateway, Now, slots, []));

    private async Task<Guid> TenantOnAsync(string plan)
    {
        var tenant = await _host.Get<TenantService>().CreateAsync($"f-{Guid.NewGuid():N}"[..20], "Fleet tenant", "test");
        await _host.Get<SubscriptionService>().StartAsync(tenant.Id, plan, "test");
        return tenant.Id;
    }

    private async Task<string> RefusalOfAsync(Func<Task> sale)
    {
        var refused = await Assert.ThrowsAsync<RuleViolation>(sale);
        return refused.Code;
    }

    [Fact]
    public async Task With_two_gateways_of_eight_slots_the_seventeenth_lane_cannot_be_sold()
    {
        await ReportAsync("gateway-a", 8);
        await ReportAsync("gateway-b", 8);
        var big = await TenantOnAsync("pro");
        await _host.Get<SubscriptionService>().AdjustReservationAsync(big, 15, null, "launch week", "staff-1");

        Assert.Equal("capacity_exceeded", await RefusalOfAsync(() => TenantOnAsync("starter")));                 // 17
        Assert.Equal("capacity_exceeded", await RefusalOfAsync(() =>
            _host.Get<SubscriptionService>().AdjustReservationAsync(big, 17, null, "more", "staff-1")));
        await _host.Get<SubscriptionService>().AdjustReservationAsync(big, 16, null, "exactly the fleet", "staff-1");

        var ledger = await _host.Get<CapacityLedgerView>().ReadAsync();
        Assert.Equal((16, 16, 16, 0, 0), (ledger.LiveSlots, ledger.SellableLanes, ledger.SoldLanes, ledger.FreeLanes, ledger.UnplacedLanes));
    }

    [Fact]
    public async Task A_gateway_joining_raises_what_can_be_sold_once_its_report_is_fresh_and_a_lost_one_shows_sold_lanes_unplaced()
    {
        await ReportAsync("gateway-a", 8);
        await TenantOnAsync("pro");                                                                          // 6 of 8
        Assert.Equal("capacity_exceeded", await RefusalOfAsync(() => TenantOnAsync("pro")));

        await ReportAsync("gateway-b", 8);
        await TenantOnAsync("pro");                                                                          // 12 of 16

        // Gateway B stops reporting (the node is lost): past the node timeout its slots are gone. Nobody is cut,
        // nothing more is sold, and the ledger shows the lanes no slot backs.
        _host.Clock.Advance(TimeSpan.FromSeconds(10));
        await ReportAsync("gateway-a", 8);
        Assert.Equal(16, (await _host.Get<CapacityLedgerView>().ReadAsync()).LiveSlots);
        _host.Clock.Advance(TimeSpan.FromSeconds(6));

        var ledger = await _host.Get<CapacityLedgerView>().ReadAsync();
        Assert.Equal((8, 12, 4), (ledger.LiveSlots, ledger.SoldLanes, ledger.UnplacedLanes));
        Assert.Equal(["gateway-a"], ledger.Nodes.Select(n => n.Id));
        Assert.Equal("capacity_exceeded", await RefusalOfAsync(() => TenantOnAsync("starter")));
    }

    [Fact]
    public async Task Planned_capacity_becomes_sellable_at_its_effective_time_and_not_before()
    {
        await ReportAsync("gateway-a", 8);
        await _host.Get<CapacityLedgerView>().PlanAsync(24, Now.AddHours(2), "two nodes arrive on Tuesday", "operator");
        await TenantOnAsync("pro");
        Assert.Equal("capacity_exceeded", await RefusalOfAsync(() => TenantOnAsync("pro")));

        _host.Clock.Advance(TimeSpan.FromHours(2));
        await ReportAsync("gateway-a", 8);
        await TenantOnAsync("pro");
        await TenantOnAsync("pro");

        // Sold beyond what reports: the plan is what was sold against, and the ledger says the lanes wait for it.
        var ledger = await _host.Get<CapacityLedgerView>().ReadAsync();
        Assert.Equal((24, 8, 18, 10), (ledger.SellableLanes, ledger.LiveSlots, ledger.SoldLanes, ledger.UnplacedLanes));
        Assert.Equal("two nodes arrive on Tuesday", ledger.Pool(ModelPools.Default).Now.Planned!.Reason);
    }

    [Fact]
    public async Task A_spare_node_keeps_the_largest_gateways_slots_unsold()
    {
        await ReportAsync("gateway-a", 8);
        await ReportAsync("gateway-b", 4);

        var withSpare = (await new FleetCapacity(
                Options.Create(new CapacityOptions { Source = CapacitySource.Fleet, SpareNodes = 1, TrialLanes = 2 }), _host.Get<PlanCatalog>(), Options.Create(new InternalBillingOptions()), _host.Clock)
            .ReadAsync(_host.Get<Marten.IDocumentStore>())).Single();

        Assert.Equal((12, 8, 4, 2, 2), (withSpare.LiveSlots, withSpare.SpareSlots, withSpare.SellableLanes, withSpare.TrialLanes, withSpare.PaidLanes));
    }

    [Fact]
    public async Task Snapshots_record_the_ledger_each_minute_and_tell_which_gateways_joined_or_left_and_which_plans_were_declared()
    {
        var ledger = _host.Get<CapacityLedgerView>();
        var since = Now;
        await ReportAsync("gateway-a", 8);
        await ledger.RecordSnapshotAsync();
        _host.Clock.Advance(TimeSpan.FromMinutes(1));
        await ReportAsync("gateway-a", 8);
        await ReportAsync("gateway-b", 8);
        await TenantOnAsync("pro");
        await ledger.PlanAsync(32, Now.AddDays(1), "rack 2 arrives", "operator");
        await ledger.RecordSnapshotAsync();
        _host.Clock.Advance(TimeSpan.FromMinutes(1));
        await ReportAsync("gateway-a", 8);
        await ledger.RecordSnapshotAsync();

        var history = await ledger.HistoryAsync(since);
        Assert.Equal([(8, 0), (16, 6), (8, 6)], history.Select(h => (h.LiveSlots, h.SoldLanes)));
        var changes = await ledger.ChangesAsync(since);
        Assert.Equal(["Gateway gateway-b left (8 live slots)", "Gateway gateway-b joined (16 live slots)"], changes.Where(c => c.What.StartsWith("Gateway", StringComparison.Ordinal)).Select(c => c.What));
        Assert.Contains(changes, c => c.What.Contains("rack 2 arrives", StringComparison.Ordinal) && c.By == "operator");
    }
}
