using System.Diagnostics;
using System.Net;
using Lanes.Billing.Keys;
using Lanes.Testing;

namespace Lanes.ScaleOut.Tests;

[Collection(FleetCollection.Name)]
public class FleetTests(GatewayFleet fleet)
{
    [Fact]
    public async Task A_revocation_reaches_both_gateways_within_two_seconds()
    {
        var (tenant, key) = await fleet.TenantWithKeyAsync("pro");

        var clock = Stopwatch.StartNew();
        await fleet.Get<KeyService>().RevokeAsync(tenant.Id, key.Key.Id, RevocationReason.User, "test");
        foreach (var node in fleet.Nodes)
        {
            await Eventually.Get(() => GatewayFleet.StatusAsync(node, key.Secret), s => s == HttpStatusCode.Unauthorized,
                TimeSpan.FromSeconds(2) - clock.Elapsed, $"{node.Name} to refuse the revoked key");
        }
    }

    [Fact]
    public async Task One_keys_requests_spread_over_both_gateways_never_spend_more_than_its_budget()
    {
        const decimal budget = 0.00007m; // about ten requests of 16 tokens
        var (tenant, key) = await fleet.TenantWithKeyAsync("pro", budget);

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            var node = fleet.Nodes[i % 2];
            return (node.Name, Status: await GatewayFleet.ChatAsync(node, key.Secret, tokens: 16));
        }));

        // Each gateway on its own would serve about ten; together they must stop at about ten. Which gateway gets
        // the slices is a race, so the test does not ask that both served.
        var served = answers.Where(a => a.Status == HttpStatusCode.OK).ToList();
        Assert.Contains(answers, a => a.Status == (HttpStatusCode)429);
        Assert.InRange(served.Count, 1, 11);

        // Everything both gateways served reaches billing; the total is within the budget (docs/scale-out.md: the
        // bound is the budget itself while it is not lowered mid-window).
        var recorded = await Eventually.Get(() => fleet.Get<KeyService>().FindAsync(tenant.Id, key.Key.Id), k => k!.WindowRequests == served.Count,
            TimeSpan.FromSeconds(30), "every served request to be metered");
        Assert.InRange(recorded!.WindowSpentUsd, 0.00001m, budget);
    }

    [Fact]
    public async Task A_tenants_reserved_lanes_hold_on_both_gateways_while_another_tenant_floods_both()
    {
        var (a, keyOfA) = await fleet.TenantWithKeyAsync("pro");      // 6 lanes: 3 on each gateway
        var (b, keyOfB) = await fleet.TenantWithKeyAsync("starter");  // 2 lanes: 1 on each, bursting into the rest
        foreach (var node in fleet.Nodes)
        {
            await Eventually.Get(() => fleet.OnNodeAsync(node.Name, a.Id), o => o.Reserved == 3, TimeSpan.FromSeconds(10), $"A's lanes placed on {node.Name}");
        }

        using var stopFlood = new CancellationTokenSource();
        var flood = fleet.Nodes.SelectMany(node => Enumerable.Range(0, 16).Select(_ => FloodAsync(node, keyOfB.Secret, stopFlood.Token))).ToList();
        foreach (var node in fleet.Nodes)
        {
            await Eventually.Get(() => fleet.OnNodeAsync(node.Name, b.Id), o => o.Queued > 0, TimeSpan.FromSeconds(10), $"B's flood to queue on {node.Name}");
        }

        var requestsOfA = fleet.Nodes.SelectMany(node => Enumerable.Range(0, 3).Select(_ => GatewayFleet.ChatAsync(node, keyOfA.Secret, tokens: 40))).ToList();
        foreach (var node in fleet.Nodes)
        {
            // All three of A's requests run at once on each gateway, though B still has requests waiting there.
            await Eventually.Get(() => fleet.OnNodeAsync(node.Name, a.Id), o => o.InUse == 3, TimeSpan.FromSeconds(5), $"A's 3 lanes in use on {node.Name}");
            Assert.True((await fleet.OnNodeAsync(node.Name, b.Id)).Queued > 0);
        }

        Assert.All(await Task.WhenAll(requestsOfA), s => Assert.Equal(HttpStatusCode.OK, s));
        await stopFlood.CancelAsync();
        await Task.WhenAll(flood);
    }

    private static async Task FloodAsync(ServiceProcess node, string secret, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await GatewayFleet.ChatAsync(node, secret, tokens: 40, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                return;
            }
        }
    }
}
