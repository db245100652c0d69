using System.Text.Json.Serialization;
using Lanes.Billing.Usage;
using Lanes.Shared.Windows;

namespace Lanes.Billing.Keys;

public enum KeyState
{
    Active,
    Revoked,
}

public enum RevocationReason
{
    User,
    Staff,
    SubscriptionEnded,
    Expired,
}

public sealed record ApiKeyIssued(
    Guid KeyId, Guid TenantId, string Name, string Prefix, string SecretHash, decimal BudgetUsd, TimeSpan WindowLength,
    DateTimeOffset? ExpiresAt, IReadOnlyList<string> Models, string CreatedBy, DateTimeOffset IssuedAt);

public sealed record KeyBudgetChanged(Guid KeyId, decimal From, decimal To, string ChangedBy, DateTimeOffset ChangedAt);

public sealed record ApiKeyRotated(Guid KeyId, string Prefix, string SecretHash, DateTimeOffset PreviousSecretValidUntil, string RotatedBy, DateTimeOffset RotatedAt);

public sealed record ApiKeyRevoked(Guid KeyId, RevocationReason Reason, string RevokedBy, DateTimeOffset RevokedAt);

/// <summary>A key revoked only because its subscription ended works again: the subscription came back (a late
/// payment after dunning ended it). Keys revoked by a person or by expiry never come back.</summary>
public sealed record ApiKeyRestored(Guid KeyId, string Reason, string RestoredBy, DateTimeOffset RestoredAt);

/// <summary>The totals of a finished window, recorded by the window job, and the window that opens with it
/// (one event per key and window keeps the job fast for many keys).</summary>
public sealed record BudgetWindowClosed(
    Guid KeyId, DateTimeOffset Start, DateTimeOffset End, decimal LimitUsd, decimal SpentUsd, long Requests,
    long InputTokens, long OutputTokens, long Throttled, DateTimeOffset NextStart, DateTimeOffset NextEnd, DateTimeOffset ClosedAt);

/// <summary>A key's share of one usage batch, as streams recorded it before usage moved to the usage tables
/// (<see cref="UsageRecorder"/>). Kept so streams written then still read; nothing appends it now.</summary>
public sealed record UsageRecorded(
    Guid KeyId, Guid BatchId, string Model, DateTimeOffset WindowStart, DateTimeOffset HourStart, long Requests,
    long InputTokens, long OutputTokens, decimal SpendUsd, long Throttled, DateTimeOffset RecordedAt, UsageDetail? Detail = null);

/// <summary>
/// An API key with its current window: the inline snapshot is the key status the gateway authenticates against
/// (hash → tenant, key, state, limit, window bounds, spent).
/// </summary>
public sealed record ApiKey
{
    public Guid Id { get; init; }

    /// <summary>Stream version (set by Marten): writers that batch many keys append with it as the expected version.</summary>
    public int Version { get; init; }

    public Guid TenantId { get; init; }
    public string Name { get; init; } = "";
    public string Prefix { get; init; } = "";
    public string SecretHash { get; init; } = "";
    public string? PreviousSecretHash { get; init; }
    public DateTimeOffset? PreviousSecretValidUntil { get; init; }
    public KeyState State { get; init; }
    public RevocationReason? RevokedFor { get; init; }
    public DateTimeOffset? RevokedAt { get; init; }
    public decimal BudgetUsd { get; init; }
    public TimeSpan WindowLength { get; init; }
    public DateTimeOffset? ExpiresAt { get; init; }
    public IReadOnlyList<string> Models { get; init; } = [];
    public string CreatedBy { get; init; } = "";
    public DateTimeOffset CreatedAt { get; init; }
    public DateTimeOffset WindowStart { get; init; }
    public DateTimeOffset WindowEnd { get; init; }

    /// <summary>Usage recorded in this window. Not stored with the key: usage is recorded in bulk in billing's usage
    /// tables, and the readers that show it or decide on it (<see cref="KeyService"/>, the window job, the key status
    /// feed) read it onto the key with <see cref="Usage.KeyUsage"/>. Null when nothing was recorded or it was not read.</summary>
    [JsonIgnore]
    public WindowUsage? Usage { get; init; }

    /// <summary>Usage a gateway metered for the window after this one, before the window job rolled the key
    /// (gateways know the boundaries to the second; the job runs a little later).</summary>
    [JsonIgnore]
    public WindowUsage? UsageAhead { get; init; }

    /// <summary>When billing last recorded usage of this key, read with <see cref="Usage"/>.</summary>
    [JsonIgnore]
    public DateTimeOffset? LastUsedAt { get; init; }

    [JsonIgnore]
    public decimal WindowSpentUsd => ThisWindow?.SpentUsd ?? 0m;

    [JsonIgnore]
    public long WindowRequests => ThisWindow?.Requests ?? 0;

    [JsonIgnore]
    public long WindowInputTokens => ThisWindow?.InputTokens ?? 0;

    [JsonIgnore]
    public long WindowOutputTokens => ThisWindow?.OutputTokens ?? 0;

    [JsonIgnore]
    public long WindowThrottled => ThisWindow?.Throttled ?? 0;

    private WindowUsage? ThisWindow => Usage is { } u && u.WindowStart == WindowStart ? u : null;

    public Window Window => new(WindowStart, WindowEnd);

    public decimal RemainingUsd => Math.Max(0m, BudgetUsd - WindowSpentUsd);

    public bool IsUsableAt(DateTimeOffset now) => State == KeyState.Active && (ExpiresAt is null || ExpiresAt > now);

    /// <summary>What a gateway needs of this key to authenticate and budget requests (billing's key status feed
    /// sends it).</summary>
    public GatewayContract.KeyStatus ToStatus() => new(
        Id, TenantId, Name, SecretHash, PreviousSecretHash, PreviousSecretValidUntil, State, RevokedFor, RevokedAt, ExpiresAt,
        Models, BudgetUsd, WindowLength, new(WindowStart, WindowSpentUsd), UsageAhead is { } ahead && ahead.WindowStart == WindowEnd ? new(ahead.WindowStart, ahead.SpentUsd) : null);

    public static ApiKey Create(ApiKeyIssued e)
    {
        var window = WindowSchedule.At(e.IssuedAt, e.WindowLength);
        return new ApiKey
        {
            Id = e.KeyId,
            TenantId = e.TenantId,
            Name = e.Name,
            Prefix = e.Prefix,
            SecretHash = e.SecretHash,
            BudgetUsd = e.BudgetUsd,
            WindowLength = e.WindowLength,
            ExpiresAt = e.ExpiresAt,
            Models = e.Models,
            CreatedBy = e.CreatedBy,
            CreatedAt = e.IssuedAt,
            WindowStart = window.Start,
            WindowEnd = window.End,
        };
    }

    public ApiKey Apply(KeyBudgetChanged e) => this with { BudgetUsd = e.To };

    public ApiKey Apply(ApiKeyRotated e) => this with
    {
        PreviousSecretHash = SecretHash,
        PreviousSecretValidUntil = e.PreviousSecretValidUntil,
        SecretHash = e.SecretHash,
        Prefix = e.Prefix,
    };

    public ApiKey Apply(ApiKeyRevoked e) => this with { State = KeyState.Revoked, RevokedFor = e.Reason, RevokedAt = e.RevokedAt };

    public ApiKey Apply(ApiKeyRestored e) => this with { State = KeyState.Active, RevokedFor = null, RevokedAt = null };

    /// <summary>The window moves on; usage stays in the usage tables under the window it was metered in (usage read
    /// ahead for the window that opens becomes this window's).</summary>
    public ApiKey Apply(BudgetWindowClosed e) => this with
    {
        WindowStart = e.NextStart,
        WindowEnd = e.NextEnd,
        Usage = UsageAhead is { } ahead && ahead.WindowStart == e.NextStart ? ahead : null,
        UsageAhead = null,
    };
}

/// <summary>Totals of one window's usage.</summary>
public sealed record WindowUsage(DateTimeOffset WindowStart, decimal SpentUsd, long Requests, long InputTokens, long OutputTokens, long Throttled);

/// <summary>Applies one event to a key, for callers that return the state a write led to.</summary>
public static class ApiKeyEvents
{
    public static ApiKey After(ApiKey key, object e) => e switch
    {
        KeyBudgetChanged x => key.Apply(x),
        ApiKeyRotated x => key.Apply(x),
        ApiKeyRevoked x => key.Apply(x),
        ApiKeyRestored x => key.Apply(x),
        BudgetWindowClosed x => key.Apply(x),
        _ => throw new InvalidOperationException($"{e.GetType().Name} does not apply to an API key."),
    };
}
