using Lanes.Billing.Keys;

namespace Lanes.Billing.GatewayContract;

/// <summary>Spend billing has recorded for a key in one window.</summary>
public readonly record struct WindowSpend(DateTimeOffset WindowStart, decimal SpentUsd);

/// <summary>
/// A key as a gateway needs it to authenticate and budget a request: its secret hashes, state, allow-list, budget and
/// the spend billing has recorded. Read from billing's <see cref="ApiKey"/>; never the aggregate itself, so billing's
/// bookkeeping can change without the gateway noticing.
/// </summary>
public sealed record KeyStatus(
    Guid Id,
    Guid TenantId,
    string Name,
    string SecretHash,
    string? PreviousSecretHash,
    DateTimeOffset? PreviousSecretValidUntil,
    KeyState State,
    RevocationReason? RevokedFor,
    DateTimeOffset? RevokedAt,
    DateTimeOffset? ExpiresAt,
    IReadOnlyList<string> Models,
    decimal BudgetUsd,
    TimeSpan WindowLength,
    WindowSpend Recorded,
    WindowSpend? RecordedAhead = null)
{
    public bool AllowsModel(string model) => Models.Count == 0 || Models.Contains(model, StringComparer.Ordinal);

    /// <summary>What billing has recorded as spent in the window starting at <paramref name="windowStart"/>: the key's
    /// current window, or the one after it when gateways metered into it before the window job rolled the key.</summary>
    public decimal RecordedSpendIn(DateTimeOffset windowStart) =>
        Recorded.WindowStart == windowStart ? Recorded.SpentUsd
        : RecordedAhead is { } ahead && ahead.WindowStart == windowStart ? ahead.SpentUsd
        : 0m;
}
