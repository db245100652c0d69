using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Capacity;

/// <summary>A cluster of 40 lanes: one Team plan (32) fits, two do not.</summary>
public sealed class ClusterOfFortyLanes : BillingHost
{
    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Capacity:TotalLanes", "40"), new("Capacity:TrialLanes", "0")];
}

public class CapacityTests(ClusterOfFortyLanes host) : IClassFixture<ClusterOfFortyLanes>
{
    [Fact]
    public async Task Reservations_are_sold_only_while_capacity_exists()
    {
        var tenants = host.Get<TenantService>();
        var subscriptions = host.Get<SubscriptionService>();
        var staff = await tenants.CreateAsync($"s-{Guid.NewGuid():N}"[..12], "Staffed", "test");
        await subscriptions.StartAsync(staff.Id, "pro", "test");                      // 6
        var big = await tenants.CreateAsync($"b-{Guid.NewGuid():N}"[..12], "Big", "test");

        // Two tenants race for the last 34 lanes with a Team plan (32 each): exactly one wins.
        var rival = await tenants.CreateAsync($"r-{Guid.NewGuid():N}"[..12], "Rival", "test");
        var outcomes = await Task.WhenAll(new[] { big, rival }.Select(async t =>
        {
            try
            {
                await subscriptions.StartAsync(t.Id, "team", "test");
                return "started";
            }
            catch (RuleViolation e)
            {
                return e.Code;
            }
        }));
        Assert.Equal(["capacity_exceeded", "started"], outcomes.Order());
        Assert.Equal((38, 40), await subscriptions.CapacityAsync());

        // A staff override that would oversell is refused with the reason, and nothing is recorded.
        var error = await Assert.ThrowsAsync<RuleViolation>(() =>
            subscriptions.AdjustReservationAsync(staff.Id, 9, null, "bigger demo", "staff-1"));
        Assert.Equal("capacity_exceeded", error.Code);
        Assert.Null((await subscriptions.FindAsync(staff.Id))!.Override);

        // Within the free lanes it is accepted; shrinking frees lanes for others.
        await subscriptions.AdjustReservationAsync(staff.Id, 8, null, "bigger demo", "staff-1");
        Assert.Equal((40, 40), await subscriptions.CapacityAsync());
        var loser = outcomes[0] == "started" ? rival : big;
        await Assert.ThrowsAsync<RuleViolation>(() => subscriptions.StartAsync(loser.Id, "starter", "test"));
        var winner = loser == big ? rival : big;
        await subscriptions.ChangePlanAsync(winner.Id, "pro", "test");
        await subscriptions.StartAsync(loser.Id, "starter", "test");
        Assert.Equal((8 + 6 + 2, 40), await subscriptions.CapacityAsync());
    }
}
