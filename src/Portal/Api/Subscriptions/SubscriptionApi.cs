using System.Text.Json.Serialization;
using Lanes.Billing.Subscriptions;
using Lanes.Portal.Api.Auth;
using Lanes.Shared.Windows;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Lanes.Portal.Api.Subscriptions;

public sealed record ScheduledChangeView(
    [property: JsonPropertyName("plan")] string Plan,
    [property: JsonPropertyName("effective_at")] DateTimeOffset EffectiveAt);

public sealed record SubscriptionView(
    [property: JsonPropertyName("plan")] string Plan,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("period_start")] DateTimeOffset PeriodStart,
    [property: JsonPropertyName("period_end")] DateTimeOffset PeriodEnd,
    [property: JsonPropertyName("cancels_at")] DateTimeOffset? CancelsAt,
    [property: JsonPropertyName("reserved_lanes")] int ReservedLanes,
    [property: JsonPropertyName("requests_per_window")] int RequestsPerWindow,
    [property: JsonPropertyName("window")] string Window,
    [property: JsonPropertyName("scheduled_change")] ScheduledChangeView? ScheduledChange,
    [property: JsonPropertyName("lane_promise")] PeriodPromiseView LanePromise,
    [property: JsonPropertyName("credits")] IReadOnlyList<CreditView> Credits);

/// <summary>This period's lane promise so far, against the plan's objective, and the credit it would earn now.</summary>
public sealed record PeriodPromiseView(
    [property: JsonPropertyName("within_reservation")] long WithinReservation,
    [property: JsonPropertyName("honoured")] long Honoured,
    [property: JsonPropertyName("honoured_pct")] double? HonouredPercent,
    [property: JsonPropertyName("target_pct")] double TargetPercent,
    [property: JsonPropertyName("admission_target_ms")] double AdmissionTargetMs,
    [property: JsonPropertyName("credit_now_usd")] decimal CreditNowUsd);

/// <summary>A service credit: for a period that missed the lane objective, or granted by staff.</summary>
public sealed record CreditView(
    [property: JsonPropertyName("id")] Guid Id,
    [property: JsonPropertyName("amount_usd")] decimal AmountUsd,
    [property: JsonPropertyName("issued_at")] DateTimeOffset IssuedAt,
    [property: JsonPropertyName("reason")] string Reason,
    [property: JsonPropertyName("period_start")] DateTimeOffset? PeriodStart,
    [property: JsonPropertyName("period_end")] DateTimeOffset? PeriodEnd,
    [property: JsonPropertyName("reversed_at")] DateTimeOffset? ReversedAt);

public sealed record LaneOverrideView(
    [property: JsonPropertyName("lanes")] int Lanes,
    [property: JsonPropertyName("until")] DateTimeOffset? Until,
    [property: JsonPropertyName("reason")] string Reason);

/// <summary>The tenant's lanes now: the plan's, a staff override's, or the reduced lanes of a grace period.</summary>
public sealed record LanesView(
    [property: JsonPropertyName("at")] DateTimeOffset At,
    [property: JsonPropertyName("reserved_lanes")] int ReservedLanes,
    [property: JsonPropertyName("plan_lanes")] int PlanLanes,
    [property: JsonPropertyName("override")] LaneOverrideView? Override,
    [property: JsonPropertyName("grace_lanes")] int? GraceLanes,
    [property: JsonPropertyName("grace_ends_at")] DateTimeOffset? GraceEndsAt);

/// <summary><c>/api/v1/subscription</c> and <c>/api/v1/lanes</c>: read-only views of the tenant's contract.</summary>
public static class SubscriptionApi
{
    public static void MapSubscriptionApi(this RouteGroupBuilder api)
    {
        api.MapGet("/subscription", GetSubscriptionAsync).WithTags("Subscription").WithName("GetSubscription")
            .RequireScope(ManagementScopes.BillingRead).WithSummary("The tenant's subscription");
        api.MapGet("/lanes", GetLanesAsync).WithTags("Subscription").WithName("GetLanes")
            .RequireScope(ManagementScopes.BillingRead).WithSummary("The lanes reserved for the tenant now");
    }

    private static async Task<Ok<SubscriptionView>> GetSubscriptionAsync(
        HttpContext http, SubscriptionService subscriptions, Lanes.Billing.LaneCredits.LanePromiseFigures figures, Lanes.Shared.Plans.PlanCatalog plans, TimeProvider clock)
    {
        var s = await FindAsync(http, subscriptions);
        var now = clock.GetUtcNow();
        var period = new Lanes.Billing.LaneCredits.EndedPeriod(s.PeriodStart, now, s.PlanId, Final: true);
        var promise = await figures.ForTenantAsync(s.TenantId, period.Hours.From, period.Hours.To, http.RequestAborted);
        var plan = plans.Find(s.PlanId);
        var slo = plan?.Slo ?? Lanes.Shared.Plans.LaneSlo.Default;
        var creditNow = Lanes.Billing.LaneCredits.LaneCreditDecisions.Assess(s.TenantId, period, promise, slo, s.FreeTrial ? 0m : plan?.MonthlyPriceUsd ?? 0m, now).CreditUsd;
        return TypedResults.Ok(new SubscriptionView(
            s.PlanId, Status(s.Status), s.PeriodStart, s.PeriodEnd, s.CancelsAt, s.ReservedLanesAt(now), s.RequestsPerWindow,
            WindowSchedule.Format(s.WindowLength), s.ScheduledChange is { } c ? new ScheduledChangeView(c.To, c.EffectiveAt) : null,
            new PeriodPromiseView(promise.WithinReservation, promise.Honoured, promise.HonouredPercent, slo.TargetPercent, slo.AdmissionTarget.TotalMilliseconds, creditNow),
            [.. s.Credits.Select(x => new CreditView(x.Id, x.AmountUsd, x.IssuedAt, x.Why, x.PeriodStart, x.PeriodEnd, x.ReversedAt))]));
    }

    private static async Task<Ok<LanesView>> GetLanesAsync(HttpContext http, SubscriptionService subscriptions, TimeProvider clock)
    {
        var s = await FindAsync(http, subscriptions);
        var now = clock.GetUtcNow();
        return TypedResults.Ok(new LanesView(
            now, s.ReservedLanesAt(now), s.IsLive ? s.PlanLanes : 0,
            s.Override is { } o && o.ActiveAt(now) ? new LaneOverrideView(o.Lanes, o.Until, o.Reason) : null,
            s.Status == SubscriptionStatus.InGrace ? s.GraceLanes : null, s.GraceEndsAt));
    }

    private static async Task<Subscription> FindAsync(HttpContext http, SubscriptionService subscriptions) =>
        await subscriptions.FindAsync(ManagementCaller.Of(http).TenantId, http.RequestAborted) ?? throw new Lanes.Billing.NotFound("Subscription");

    /// <summary>snake_case, like every other enum value of the API.</summary>
    private static string Status(SubscriptionStatus status) => System.Text.Json.JsonNamingPolicy.SnakeCaseLower.ConvertName(status.ToString());
}
