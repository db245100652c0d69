using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lanes.Billing.Occupancy;
using Marten;

namespace Lanes.Testing;

/// <summary>Gateway processes on one database, as the scale-out tests and bench run them (scripted engine).</summary>
public static class GatewayProcesses
{
    /// <summary>The settings of one gateway of a fleet on <paramref name="billing"/>'s database.</summary>
    public static Dictionary<string, string> Settings(
        BillingHost billing, string nodeId, int slots, int tokens, TimeSpan tokenDelay, TimeSpan report, TimeSpan nodeTimeout, TimeSpan placementInterval) => new()
    {
        ["ConnectionStrings__Lanes"] = billing.ConnectionString,
        ["Keys__Pepper"] = billing.Pepper,
        ["Capacity__Source"] = "Configured",
        ["Capacity__TotalLanes"] = "64",
        ["Gateway__NodeId"] = nodeId,
        ["Engine__Kind"] = "scripted",
        ["Engine__Scripted__Model"] = "scripted",
        ["Engine__Scripted__Slots"] = slots.ToString(),
        ["Engine__Scripted__Tokens"] = tokens.ToString(),
        ["Engine__Scripted__TokenDelay"] = tokenDelay.ToString(),
        ["Gateway__Keys__PollInterval"] = "00:00:00.100",
        ["Gateway__Metering__FlushInterval"] = "00:00:00.200",
        ["Gateway__Lanes__OccupancyReportInterval"] = report.ToString(),
        ["Gateway__Placement__NodeTimeout"] = nodeTimeout.ToString(),
        ["Gateway__Placement__Interval"] = placementInterval.ToString(),
    };

    /// <summary>The status of <c>GET /v1/models</c> with the key: 200 once the gateway knows it, 401 once revoked.</summary>
    public static async Task<HttpStatusCode> StatusAsync(ServiceProcess node, string secret)
    {
        using var http = new HttpClient { BaseAddress = node.BaseAddress };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", secret);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    /// <summary>One chat request of <paramref name="tokens"/> tokens, read to the end.</summary>
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

    /// <summary>What one gateway last reported for a tenant, read from PostgreSQL.</summary>
    public static async Task<TenantOccupancy?> ReportedAsync(IDocumentStore store, string nodeId, Guid tenantId)
    {
        await using var query = store.QuerySession();
        var report = await query.LoadAsync<GatewayOccupancy>(nodeId);
        return report?.Tenants.FirstOrDefault(t => t.TenantId == tenantId);
    }
}
