using Lanes.Billing.Keys;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Lanes.Billing.Windows;
using Lanes.Testing;
using Marten;

namespace Lanes.Billing.Tests.Windows;

public class WindowRollerTests(BillingHost host) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task Two_runs_at_once_close_and_reopen_each_window_exactly_once()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var keys = new List<ApiKey>();
        for (var i = 0; i < 40; i++)
        {
            keys.Add((await host.KeyFor(tenant, name: $"k{i}")).Key);
        }

        await host.Get<UsageRecorder>().RecordAsync(new UsageBatch(Guid.NewGuid(), "test",
            [new UsageLine(tenant.Id, keys[0].Id, "lanes-demo", keys[0].WindowStart, keys[0].WindowStart, 1, 10, 10, 0.5m, 0)]));
        host.Clock.SetUtcNow(keys[0].WindowEnd.AddMinutes(1));

        var roller = host.Get<WindowRoller>();
        var closed = await Task.WhenAll(roller.RollDueWindowsAsync(), roller.RollDueWindowsAsync());

        Assert.Equal(40, closed.Sum());
        await using var query = host.Store.QuerySession(Tenant.MartenTenantOf(tenant.Id));
        foreach (var key in keys)
        {
            var events = await query.Events.FetchStreamAsync(key.Id);
            Assert.Single(events, e => e.Data is BudgetWindowClosed);
            var now = await query.LoadAsync<ApiKey>(key.Id);
            Assert.Equal(keys[0].WindowEnd, now!.WindowStart);
            Assert.Equal(0m, now.WindowSpentUsd);
        }

        var first = (BudgetWindowClosed)(await query.Events.FetchStreamAsync(keys[0].Id)).Single(e => e.Data is BudgetWindowClosed).Data;
        Assert.Equal((0.5m, 1L), (first.SpentUsd, first.Requests));
        Assert.Equal(0, await roller.RollDueWindowsAsync());
    }

    [Fact]
    public async Task Revoked_keys_are_left_alone()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant);
        await host.Get<KeyService>().RevokeAsync(tenant.Id, issued.Key.Id, RevocationReason.User, "test");
        host.Clock.SetUtcNow(issued.Key.WindowEnd.AddHours(1));

        await host.Get<WindowRoller>().RollDueWindowsAsync();

        await using var query = host.Store.QuerySession(Tenant.MartenTenantOf(tenant.Id));
        Assert.DoesNotContain(await query.Events.FetchStreamAsync(issued.Key.Id), e => e.Data is BudgetWindowClosed);
    }
}
