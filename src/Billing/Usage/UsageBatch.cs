namespace Lanes.Billing.Usage;

/// <summary>Usage metered by a gateway and flushed to billing. <see cref="BatchId"/> is chosen by the gateway before
/// the first attempt, so a retried flush is recognised and counted once.</summary>
public sealed record UsageBatch(Guid BatchId, string Source, IReadOnlyList<UsageLine> Lines);

/// <summary>One key's usage of one model within one window and one hour.</summary>
public sealed record UsageLine(
    Guid TenantId, Guid KeyId, string Model, DateTimeOffset WindowStart, DateTimeOffset HourStart,
    long Requests, long InputTokens, long OutputTokens, decimal SpendUsd, long Throttled, UsageDetail? Detail = null);
