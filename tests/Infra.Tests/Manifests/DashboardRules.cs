using System.Text.Json;

namespace Lanes.Infra.Tests.Manifests;

/// <summary>A panel that queries a series nobody exports stays empty forever without an error: catch it here.</summary>
public static class DashboardRules
{
    public static IEnumerable<string> Queries(string dashboardJson)
    {
        using var doc = JsonDocument.Parse(dashboardJson);
        return Exprs(doc.RootElement).ToList();
    }

    public static IEnumerable<string> UnknownMetrics(IEnumerable<string> queries, IReadOnlySet<string> exported) =>
        queries.SelectMany(q => MetricNames.Referenced(q).Where(n => !exported.Contains(n)).Select(n => $"{n} (in {q})"));

    private static IEnumerable<string> Exprs(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.Object => e.EnumerateObject().SelectMany(p =>
            p.Name == "expr" && p.Value.ValueKind == JsonValueKind.String ? [p.Value.GetString()!] : Exprs(p.Value)),
        JsonValueKind.Array => e.EnumerateArray().SelectMany(Exprs),
        _ => [],
    };
}
