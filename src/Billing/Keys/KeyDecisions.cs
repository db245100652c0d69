using Lanes.Shared.Windows;

namespace Lanes.Billing.Keys;

/// <summary>What a key's creator asks for. Budget and window default to the tenant's plan.</summary>
public sealed record KeyRequest(
    string Name, decimal? BudgetUsd = null, TimeSpan? WindowLength = null, DateTimeOffset? ExpiresAt = null,
    IReadOnlyList<string>? Models = null);

/// <summary>Pure decisions over API keys.</summary>
public static class KeyDecisions
{
    public const decimal MaxBudgetUsd = 1_000_000m;

    /// <param name="knownModels">Models in the price table; an allow-list naming anything else is refused.</param>
    public static ApiKeyIssued Issue(
        Guid keyId, Guid tenantId, KeyRequest request, decimal defaultBudgetUsd, TimeSpan defaultWindow,
        Func<string, bool> knownModel, string prefix, string secretHash, string createdBy, DateTimeOffset now)
    {
        var name = request.Name?.Trim() ?? "";
        // Control characters have no place in a name, and PostgreSQL cannot store a NUL at all.
        if (name.Length is 0 or > 100 || name.Any(char.IsControl))
        {
            throw new RuleViolation("invalid_name", "A key name is 1-100 characters, without control characters.");
        }

        var budget = request.BudgetUsd ?? defaultBudgetUsd;
        ValidateBudget(budget);

        var window = request.WindowLength ?? defaultWindow;
        if (window < WindowSchedule.Minimum || window > WindowSchedule.Maximum)
        {
            throw new RuleViolation("invalid_window", $"A window lasts between {WindowSchedule.Format(WindowSchedule.Minimum)} and {WindowSchedule.Format(WindowSchedule.Maximum)}.");
        }

        if (request.ExpiresAt is { } expires && expires <= now)
        {
            throw new RuleViolation("expiry_in_past", "A key's expiry must be in the future.");
        }

        // JSON's [null] arrives as a null entry whatever the type says.
        if (request.Models?.Any(m => m is null) == true)
        {
            throw new RuleViolation("unknown_model", "The allow-list holds model ids; null is not one.");
        }

        var models = (request.Models ?? []).Select(m => m.Trim()).Where(m => m.Length > 0).Distinct(StringComparer.Ordinal).ToList();
        var unknown = models.Where(m => !knownModel(m)).ToList();
        if (unknown.Count > 0)
        {
            throw new RuleViolation("unknown_model", $"Unknown model(s) in the allow-list: {string.Join(", ", unknown)}.");
        }

        return new ApiKeyIssued(keyId, tenantId, name, prefix, secretHash, budget, window, request.ExpiresAt, models, createdBy, now);
    }

    public static KeyBudgetChanged ChangeBudget(ApiKey key, decimal budgetUsd, string by, DateTimeOffset now)
    {
        RequireActive(key, "change the budget of");
        ValidateBudget(budgetUsd);
        return new KeyBudgetChanged(key.Id, key.BudgetUsd, budgetUsd, by, now);
    }

    public static ApiKeyRotated Rotate(ApiKey key, string prefix, string secretHash, TimeSpan grace, string by, DateTimeOffset now)
    {
        RequireActive(key, "rotate");
        if (grace < TimeSpan.Zero || grace > TimeSpan.FromDays(7))
        {
            throw new RuleViolation("invalid_grace", "The old secret keeps working for between 0 and 7 days after a rotation.");
        }

        return new ApiKeyRotated(key.Id, prefix, secretHash, now + grace, by, now);
    }

    public static ApiKeyRevoked Revoke(ApiKey key, RevocationReason reason, string by, DateTimeOffset now)
    {
        RequireActive(key, "revoke");
        return new ApiKeyRevoked(key.Id, reason, by, now);
    }

    /// <summary>Restores a key the end of its subscription revoked, once the subscription is live again.</summary>
    public static ApiKeyRestored Restore(ApiKey key, string reason, string by, DateTimeOffset now) =>
        key is { State: KeyState.Revoked, RevokedFor: RevocationReason.SubscriptionEnded }
            ? new ApiKeyRestored(key.Id, reason, by, now)
            : throw new RuleViolation("not_restorable", "Only a key revoked because its subscription ended can be restored.");

    /// <summary>Closes the key's window once its end has passed and opens the one that contains <paramref name="now"/>.
    /// Idle windows in between are skipped: they have no usage to record.</summary>
    public static BudgetWindowClosed? RollWindow(ApiKey key, DateTimeOffset now)
    {
        if (key.WindowEnd > now)
        {
            return null;
        }

        var next = WindowSchedule.At(now, key.WindowLength);
        return new BudgetWindowClosed(key.Id, key.WindowStart, key.WindowEnd, key.BudgetUsd, key.WindowSpentUsd, key.WindowRequests,
            key.WindowInputTokens, key.WindowOutputTokens, key.WindowThrottled, next.Start, next.End, now);
    }

    private static void ValidateBudget(decimal budget)
    {
        if (budget < 0m || budget > MaxBudgetUsd)
        {
            throw new RuleViolation("invalid_budget", $"A key's budget per window is between $0 and ${MaxBudgetUsd:N0}.");
        }
    }

    private static void RequireActive(ApiKey key, string action)
    {
        if (key.State == KeyState.Revoked)
        {
            throw new RuleViolation("key_revoked", $"Cannot {action} a revoked key.");
        }
    }
}
