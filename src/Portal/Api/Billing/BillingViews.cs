using System.Text.Json.Serialization;
using Lanes.Billing.Subscriptions;

namespace Lanes.Portal.Api.Billing;

// The billing API's wire records, together: each is a few fields of one answer.

/// <summary>A plan action: which plan, the caller's id for the command (a retry with the same id does it once) and,
/// for an upgrade, the proration date of the preview the customer accepted.</summary>
public sealed record PlanCommand(string Plan, Guid CommandId, DateTimeOffset? ProrationDate = null);

public sealed record BillingCommand(Guid CommandId);

public sealed record AntiforgeryView(
    [property: JsonPropertyName("token")] string? Token,
    [property: JsonPropertyName("header_name")] string HeaderName);

public sealed record BillingSubscriptionView(
    [property: JsonPropertyName("payment_processing")] bool PaymentProcessing,
    [property: JsonPropertyName("collection_paused")] bool CollectionPaused,
    [property: JsonPropertyName("collection_resumes_at")] DateTimeOffset? CollectionResumesAt,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("test_mode")] bool TestMode,
    [property: JsonPropertyName("plan")] string? Plan,
    [property: JsonPropertyName("status")] string? Status,
    [property: JsonPropertyName("reserved_lanes")] int ReservedLanes,
    [property: JsonPropertyName("period_end")] DateTimeOffset? PeriodEnd,
    [property: JsonPropertyName("scheduled_change")] ScheduledPlanChange? ScheduledChange);

public sealed record RedirectView([property: JsonPropertyName("url")] string Url);

public sealed record TrialView(
    [property: JsonPropertyName("plan")] string Plan,
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("period_end")] DateTimeOffset PeriodEnd);

public sealed record PlanChangeView(
    [property: JsonPropertyName("plan")] string Plan,
    [property: JsonPropertyName("scheduled_change")] ScheduledPlanChange? ScheduledChange,
    [property: JsonPropertyName("payment_pending")] bool PaymentPending,
    [property: JsonPropertyName("payment_url")] string? PaymentUrl);

public sealed record KeptPlanView(
    [property: JsonPropertyName("plan")] string Plan,
    [property: JsonPropertyName("scheduled_change")] ScheduledPlanChange? ScheduledChange);

public sealed record CancellationView(
    [property: JsonPropertyName("status")] string Status,
    [property: JsonPropertyName("cancels_at")] DateTimeOffset? CancelsAt);

public sealed record ResumedView([property: JsonPropertyName("status")] string Status);
