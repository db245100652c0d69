using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Billing.Occupancy;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Marten;

namespace Lanes.ScaleOut.Tests;

/// <summary>
/// Two gateway processes on loopback against one test database, with the scripted engine (8 slots each, 50 ms a
/// token), and billing in the test process on the same database to set tenants up and read what was recorded.
/// </summary>
public class GatewayFleet : BillingHost
{
    public const int SlotsPerNode = 8;
    public static readonly TimeSpan NodeTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan PlacementInterval = TimeSpan.FromMilliseconds(200);
    public static readonly TimeSpan ReportInterval = TimeSpan.FromMilliseconds(200);

    public ServiceProcess[] Nodes { get; private set; } = [];

    protected override bool RealClock => true;

    protected override BillingRole Role => BillingRole.Services;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        Nodes = await Task.WhenAll(Enumerable.Range(1, 2).Select(i => ServiceProcess.StartAsync($"node-{i}", "Inference", Environment($"node-{i}"))));
    }

    public override async Task DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.DisposeAsync();
        }

        await base.DisposeAsync();
    }

    private Dictionary<string, string> Environment(string nodeId)
    {
        var settings = GatewayProcesses.Settings(this, nodeId, SlotsPerNode, tokens: 40, TimeSpan.FromMilliseconds(50), ReportInterval, NodeTimeout, PlacementInterval);
        settings["Gateway__Lanes__QueueLength"] = "256";
        settings["Gateway__Lanes__QueueTimeout"] = "00:01:00";
        return settings;
    }

    public async Task<(Tenant Tenant, IssuedKey Key)> TenantWithKeyAsync(string plan, decimal budget = 5m)
    {
        var tenant = await Get<TenantService>().CreateAsync($"t-{Guid.NewGuid():N}"[..20], "Fleet test", "test");
        await Get<SubscriptionService>().StartAsync(tenant.Id, plan, "test");
        var key = await Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("fleet", budget), "test");

        // Both gateways know the key before the test uses it.
        foreach (var node in Nodes.Where(n => !n.HasExited))
        {
            await Eventually.Get(() => StatusAsync(node, key.Secret), s => s == HttpStatusCode.OK, TimeSpan.FromSeconds(30), $"{node.Name} to know the key");
        }

        return (tenant, key);
    }

    public static Task<HttpStatusCode> StatusAsync(ServiceProcess node, string secret) => GatewayProcesses.StatusAsync(node, secret);

    /// <summary>One chat request that runs for about <paramref name="tokens"/> × 50 ms once admitted.</summary>
    public static Task<HttpStatusCode> ChatAsync(ServiceProcess node, string secret, int tokens, CancellationToken ct = default) =>
        GatewayProcesses.ChatAsync(node, secret, tokens, ct);

    /// <summary>What one gateway last reported for a tenant (in use, queued), read from PostgreSQL.</summary>
    public async Task<(int InUse, int Queued, int Reserved)> OnNodeAsync(string nodeId, Guid tenantId)
    {
        var mine = await GatewayProcesses.ReportedAsync(Store, nodeId, tenantId);
        return (mine?.InUse ?? 0, mine?.Queued ?? 0, mine?.Reserved ?? 0);
    }
}

[CollectionDefinition(Name)]
public sealed class FleetCollection : ICollectionFixture<GatewayFleet>
{
    public const string Name = "Two gateways on one database";
}
