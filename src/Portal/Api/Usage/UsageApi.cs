using System.Text.Json.Serialization;
using Lanes.Billing.Keys;
using Lanes.Billing.Usage;
using Lanes.Portal.Api.Auth;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Lanes.Portal.Api.Usage;

public sealed record UsagePointView(
    [property: JsonPropertyName("start")] DateTimeOffset Start,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("input_tokens")] long InputTokens,
    [property: JsonPropertyName("output_tokens")] long OutputTokens,
    [property: JsonPropertyName("spend_usd")] decimal SpendUsd,
    [property: JsonPropertyName("throttled")] long Throttled,
    [property: JsonPropertyName("throttled_budget")] long ThrottledBudget,
    [property: JsonPropertyName("throttled_requests")] long ThrottledRequests,
    [property: JsonPropertyName("throttled_lanes")] long ThrottledLanes,
    [property: JsonPropertyName("lane_seconds")] double LaneSeconds,
    [property: JsonPropertyName("queue_wait_p95_s")] double? QueueWaitP95Seconds,
    [property: JsonPropertyName("peak_lanes")] int PeakLanes,
    [property: JsonPropertyName("requests_by_api")] RequestsByApiView RequestsByApi,
    [property: JsonPropertyName("lane_promise")] LanePromiseView LanePromise);

/// <summary>Requests sent within the tenant's reservation, those that started within the plan's admission target,
/// and the admission waits of those that started (bucket bounds).</summary>
public sealed record LanePromiseView(
    [property: JsonPropertyName("within_reservation")] long WithinReservation,
    [property: JsonPropertyName("honoured")] long Honoured,
    [property: JsonPropertyName("honoured_pct")] double? HonouredPercent,
    [property: JsonPropertyName("admission_wait_p50_s")] double? AdmissionWaitP50Seconds,
    [property: JsonPropertyName("admission_wait_p99_s")] double? AdmissionWaitP99Seconds)
{
    public static LanePromiseView Of(UsagePoint p) => new(p.WithinReservation, p.Honoured, p.HonouredPercent, p.ReservedWaitP50Seconds, p.ReservedWaitP99Seconds);
}

/// <summary>Requests (served and refused) by the API they came through.</summary>
public sealed record RequestsByApiView(
    [property: JsonPropertyName("chat_completions")] long ChatCompletions,
    [property: JsonPropertyName("completions")] long Completions,
    [property: JsonPropertyName("responses")] long Responses,
    [property: JsonPropertyName("messages")] long Messages)
{
    public static RequestsByApiView Of(IReadOnlyList<long> counts) => new(counts[0], counts[1], counts[2], counts[3]);
}

public sealed record ModelUsageView(
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("input_tokens")] long InputTokens,
    [property: JsonPropertyName("output_tokens")] long OutputTokens,
    [property: JsonPropertyName("spend_usd")] decimal SpendUsd);

public sealed record UsageView(
    [property: JsonPropertyName("start")] DateTimeOffset Start,
    [property: JsonPropertyName("end")] DateTimeOffset End,
    [property: JsonPropertyName("granularity")] string Granularity,
    [property: JsonPropertyName("key_id")] Guid? KeyId,
    [property: JsonPropertyName("model")] string? Model,
    [property: JsonPropertyName("requests")] long Requests,
    [property: JsonPropertyName("input_tokens")] long InputTokens,
    [property: JsonPropertyName("output_tokens")] long OutputTokens,
    [property: JsonPropertyName("spend_usd")] decimal SpendUsd,
    [property: JsonPropertyName("throttled")] long Throttled,
    [property: JsonPropertyName("points")] IReadOnlyList<UsagePointView> Points,
    [property: JsonPropertyName("models")] IReadOnlyList<ModelUsageView> Models);

/// <summary><c>/api/v1/usage</c>: the tenant's usage time series from the hourly roll-up, as JSON or CSV.</summary>
public static class UsageApi
{
    public static void MapUsageApi(this RouteGroupBuilder api)
    {
        api.MapGet("/usage", GetAsync).WithTags("Usage").WithName("GetUsage").RequireScope(ManagementScopes.UsageRead)
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .WithSummary("Usage time series")
            .WithDescription("Hourly (up to 31 days) or daily (up to 400 days) points over [from, to], rounded out to whole UTC buckets, " +
                             "optionally for one key and/or one model. Defaults: the last 7 days, daily. format=csv (or Accept: text/csv) " +
                             "returns one CSV row per bucket. Spend is at list prices; it is counted against key budgets, never charged.");
    }

    private static async Task<Results<Ok<UsageView>, ContentHttpResult, ProblemHttpResult, ValidationProblem>> GetAsync(
        HttpContext http, UsageReports reports, KeyService keys, TimeProvider clock,
        [FromQuery] string? from = null, [FromQuery] string? to = null, [FromQuery] string? granularity = null,
        [FromQuery(Name = "key_id")] string? keyId = null, [FromQuery] string? model = null, [FromQuery] string? format = null)
    {
        var caller = ManagementCaller.Of(http);
        var now = clock.GetUtcNow();
        var query = new QueryParameters();
        var (start, end, key) = (query.Time(from, "from"), query.Time(to, "to"), query.Id(keyId, "key_id"));
        var modelId = query.Text(model, "model", 200);
        if (!query.Valid)
        {
            return query.Problem();
        }

        UsageGranularity step;
        switch (granularity?.ToLowerInvariant())
        {
            case null or "" or "day" or "daily":
                step = UsageGranularity.Day;
                break;
            case "hour" or "hourly":
                step = UsageGranularity.Hour;
                break;
            default:
                return TypedResults.Problem(statusCode: 400, type: "invalid_granularity", title: "granularity is hour or day.");
        }

        var csv = string.Equals(format, "csv", StringComparison.OrdinalIgnoreCase)
            || (format is null && http.Request.Headers.Accept.ToString().Contains("text/csv", StringComparison.OrdinalIgnoreCase));
        if (format is not null && !csv && !string.Equals(format, "json", StringComparison.OrdinalIgnoreCase))
        {
            return TypedResults.Problem(statusCode: 400, type: "invalid_format", title: "format is json or csv.");
        }

        if (key is { } id && await keys.FindAsync(caller.TenantId, id, http.RequestAborted) is null)
        {
            throw new Lanes.Billing.NotFound("API key");
        }

        // The default start is a week before the end, or the earliest time there is for an end in year 1's first week.
        var until = end ?? now;
        var since = start ?? (until - DateTimeOffset.MinValue > TimeSpan.FromDays(7) ? until.AddDays(-7) : DateTimeOffset.MinValue);
        var usage = new UsageQuery(since, until, step, key, modelId);
        var report = await reports.ForTenantAsync(caller.TenantId, usage, http.RequestAborted);
        if (csv)
        {
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"usage-{usage.Start:yyyyMMddHH}-{usage.End:yyyyMMddHH}.csv\"";
            return TypedResults.Text(report.ToCsv(), "text/csv; charset=utf-8");
        }

        return TypedResults.Ok(new UsageView(
            usage.Start, usage.End, step == UsageGranularity.Hour ? "hour" : "day", key, usage.Model,
            report.Requests, report.InputTokens, report.OutputTokens, report.SpendUsd, report.Throttled,
            [.. report.Points.Select(p => new UsagePointView(p.Start, p.Requests, p.InputTokens, p.OutputTokens, p.SpendUsd, p.Throttled,
                p.BudgetRefusals, p.RequestRefusals, p.LaneRefusals, p.LaneSeconds, p.QueueWaitP95Seconds, p.PeakLanes, RequestsByApiView.Of(p.RequestsByApi), LanePromiseView.Of(p)))],
            [.. report.Models.Select(m => new ModelUsageView(m.Model, m.Requests, m.InputTokens, m.OutputTokens, m.SpendUsd))]));
    }
}
