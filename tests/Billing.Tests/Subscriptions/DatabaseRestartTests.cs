using Lanes.Billing.Subscriptions;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Subscriptions;

/// <summary>Billing on a PostgreSQL server of its own, so restarting it hurts no other test.</summary>
public sealed class BillingOnItsOwnServer : BillingHost
{
    private PrivatePostgres? _server;

    public PrivatePostgres Postgres => _server!;

    protected override string? Server => _server?.ConnectionString;

    public override async Task InitializeAsync()
    {
        _server = await PrivatePostgres.StartAsync();
        await base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        await _server!.DisposeAsync();
    }
}

public class DatabaseRestartTests(BillingOnItsOwnServer host) : IClassFixture<BillingOnItsOwnServer>
{
    [Fact]
    public async Task A_plan_change_right_after_the_database_restarted_succeeds_though_every_pooled_connection_died()
    {
        var subscriptions = host.Get<SubscriptionService>();
        var tenants = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => host.TenantWithActiveSubscription()));

        // Writes at once, so the pool holds several connections, all of which the crash cuts.
        await Task.WhenAll(tenants.Select(t => subscriptions.ChangePlanAsync(t.Id, "pro", "owner")));
        await host.Postgres.CrashAsync();

        var changed = await subscriptions.ChangePlanAsync(tenants[0].Id, "team", "owner");

        Assert.Equal("team", changed.PlanId);
    }
}
