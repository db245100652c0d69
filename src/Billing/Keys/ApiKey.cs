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

/// <summary>A key's share of one usage batch from a gateway, for one model and one window.</summary>
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
    public DateTimeOffset? LastUsedAt { get; init; }
    public DateTimeOffset WindowStart { get; init; }
    public DateTimeOffset WindowEnd { get; init; }
    public decimal WindowSpentUsd { get; init; }
    public long WindowRequests { get; init; }
    public long WindowInputTokens { get; init; }
    public long WindowOutputTokens { get; init; }
    public long WindowThrottled { get; init; }

    /// <summary>Usage a gateway metered for a window that starts after this one, before the window job rolled
    /// the key (gateways know the boundaries to the second; the job runs a little later).</summary>
    public WindowUsage? Pending { get; init; }

    public Window Window => new(WindowStart, WindowEnd);

    public decimal RemainingUsd => Math.Max(0m, BudgetUsd - WindowSpentUsd);

    public bool IsUsableAt(DateTimeOffset now) => State == KeyState.Active && (ExpiresAt is null || ExpiresAt > now);

    /// <summary>What a gateway needs of this key to authenticate and budget requests (billing's key status feed
    /// sends it).</summary>
    public GatewayContract.KeyStatus ToStatus() => new(
        Id, TenantId, Name, SecretHash, PreviousSecretHash, PreviousSecretValidUntil, State, RevokedFor, RevokedAt, ExpiresAt,
        Models, BudgetUsd, WindowLength, new(WindowStart, WindowSpentUsd), Pending is { } p ? new(p.WindowStart, p.SpentUsd) : null);

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

    public ApiKey Apply(BudgetWindowClosed e)
    {
        var carried = Pending is { } p && p.WindowStart == e.NextStart ? p : new WindowUsage(e.NextStart, 0m, 0, 0, 0, 0);
        return this with
        {
            WindowStart = e.NextStart,
            WindowEnd = e.NextEnd,
            WindowSpentUsd = carried.SpentUsd,
            WindowRequests = carried.Requests,
            WindowInputTokens = carried.InputTokens,
            WindowOutputTokens = carried.OutputTokens,
            WindowThrottled = carried.Throttled,
            Pending = null,
        };
    }

    public ApiKey Apply(UsageRecorded e)
    {
        var used = this with { LastUsedAt = LastUsedAt is { } last && last > e.RecordedAt ? last : e.RecordedAt };

        if (e.WindowStart >= WindowEnd)
        {
            var pending = Pending is { } p && p.WindowStart == e.WindowStart ? p : new WindowUsage(e.WindowStart, 0m, 0, 0, 0, 0);
            return used with { Pending = pending.Add(e) };
        }

        // Usage metered in an earlier window stays in the usage history but not in this window's budget.
        return e.WindowStart != WindowStart
            ? used
            : used with
            {
                WindowSpentUsd = WindowSpentUsd + e.SpendUsd,
                WindowRequests = WindowRequests + e.Requests,
                WindowInputTokens = WindowInputTokens + e.InputTokens,
                WindowOutputTokens = WindowOutputTokens + e.OutputTokens,
                WindowThrottled = WindowThrottled + e.Throttled,
            };
    }
}

/// <summary>Totals of one window's usage.</summary>
public sealed record WindowUsage(DateTimeOffset WindowStart, decimal SpentUsd, long Requests, long InputTokens, long OutputTokens, long Throttled)
{
    public WindowUsage Add(UsageRecorded e) => this with
    {
        SpentUsd = SpentUsd + e.SpendUsd,
        Requests = Requests + e.Requests,
        InputTokens = InputTokens + e.InputTokens,
        OutputTokens = OutputTokens + e.OutputTokens,
        Throttled = Throttled + e.Throttled,
    };
}

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
        UsageRecorded x => key.Apply(x),
        _ => throw new InvalidOperationException($"{e.GetType().Name} does not apply to an API key."),
    };
}
