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

    private Dictionary<string, string> Environment(string nodeId) => new()
    {
        ["ConnectionStrings__Lanes"] = ConnectionString,
        ["Keys__Pepper"] = Pepper,
        ["Capacity__TotalLanes"] = "64",
        ["Gateway__NodeId"] = nodeId,
        ["Engine__Kind"] = "scripted",
        ["Engine__Scripted__Model"] = "scripted",
        ["Engine__Scripted__Slots"] = SlotsPerNode.ToString(),
        ["Engine__Scripted__Tokens"] = "40",
        ["Engine__Scripted__TokenDelay"] = "00:00:00.050",
        ["Gateway__Keys__PollInterval"] = "00:00:00.100",
        ["Gateway__Metering__FlushInterval"] = "00:00:00.200",
        ["Gateway__Lanes__OccupancyReportInterval"] = ReportInterval.ToString(),
        ["Gateway__Lanes__QueueLength"] = "256",
        ["Gateway__Lanes__QueueTimeout"] = "00:01:00",
        ["Gateway__Placement__NodeTimeout"] = NodeTimeout.ToString(),
        ["Gateway__Placement__Interval"] = PlacementInterval.ToString(),
    };

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

    public static async Task<HttpStatusCode> StatusAsync(ServiceProcess node, string secret)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>One chat request that runs for about <paramref name="tokens"/> × 50 ms once admitted.</summary>
    public static async Task<HttpStatusCode> ChatAsync(ServiceProcess node, string secret, int tokens, CancellationToken ct = default)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress, Timeout = TimeSpan.FromMinutes(2) };
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/chat/completions")
        {
            Content = new StringContent($$"""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"max_tokens":{{tokens}}}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await http.SendAsync(request, ct);
        await response.Content.ReadAsStringAsync(ct);
        return response.StatusCode;
    }

    /// <summary>What one gateway last reported for a tenant (in use, queued), read from PostgreSQL.</summary>
    public async Task<(int InUse, int Queued, int Reserved)> OnNodeAsync(string nodeId, Guid tenantId)
    {
        await using var query = Store.QuerySession();
        var report = await query.LoadAsync<GatewayOccupancy>(nodeId);
        var mine = report?.Tenants.FirstOrDefault(t => t.TenantId == tenantId);
        return (mine?.InUse ?? 0, mine?.Queued ?? 0, mine?.Reserved ?? 0);
    }
}

[CollectionDefinition(Name)]
public sealed class FleetCollection : ICollectionFixture<GatewayFleet>
{
    public const string Name = "Two gateways on one database";
}
