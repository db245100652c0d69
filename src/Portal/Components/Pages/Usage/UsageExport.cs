using System.Globalization;
using Lanes.Billing;
using Lanes.Billing.Usage;
using Lanes.Portal.Organisations;

namespace Lanes.Portal.Components.Pages.Usage;

/// <summary>The usage page's filters as URL parameters, shared by the page and its CSV export.</summary>
public sealed record UsageFilter(string Range = "7d", Guid? Key = null, string? Model = null)
{
    public static readonly IReadOnlyList<(string Id, string Label)> Ranges =
        [("24h", "Last 24 hours, hourly"), ("7d", "Last 7 days, hourly"), ("30d", "Last 30 days, daily"), ("90d", "Last 90 days, daily")];

    public UsageQuery ToQuery(DateTimeOffset now) => Range switch
    {
        "24h" => UsageQuery.LastDay(now, Key, Model),
        "7d" => UsageQuery.LastDays(now, 7, UsageGranularity.Hour, Key, Model),
        "30d" => UsageQuery.LastDays(now, 29, UsageGranularity.Day, Key, Model),
        "90d" => UsageQuery.LastDays(now, 89, UsageGranularity.Day, Key, Model),
        _ => throw new RuleViolation("invalid_range", $"Unknown range '{Range}': use 24h, 7d, 30d or 90d."),
    };

    public string ToQueryString() =>
        $"range={Uri.EscapeDataString(Range)}" + (Key is { } k ? $"&key={k}" : "") + (string.IsNullOrEmpty(Model) ? "" : $"&model={Uri.EscapeDataString(Model)}");
}

public static class UsageExport
{
    /// <summary><c>GET /usage/export.csv</c>: the signed-in member's organisation only, with the page's filters.</summary>
    public static void MapUsageExport(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapGet("/usage/export.csv", async (string? range, Guid? key, string? model, string? org, HttpContext http, OrganisationAccess access, UsageReports reports, TimeProvider clock, CancellationToken ct) =>
        {
            var organisation = await access.ForUserAsync(http.User, org, ct);
            if (organisation is null)
            {
                return Results.Problem(statusCode: 404, title: "No such organisation.");
            }

            try
            {
                var filter = new UsageFilter(range ?? "7d", key, model);
                var report = await reports.ForTenantAsync(organisation.TenantId, filter.ToQuery(clock.GetUtcNow()), ct);
                var name = string.Create(CultureInfo.InvariantCulture, $"lanes-usage-{organisation.Tenant.Slug}-{filter.Range}-{clock.GetUtcNow():yyyyMMddHHmm}.csv");
                return Results.File(System.Text.Encoding.UTF8.GetBytes(report.ToCsv()), "text/csv", name);
            }
            catch (RuleViolation e)
            {
                return Results.Problem(statusCode: 400, title: e.Message, type: e.Code);
            }
        }).RequireAuthorization();
}
