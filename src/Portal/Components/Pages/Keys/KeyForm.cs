using Lanes.Billing.Keys;
using Lanes.Shared.Windows;

namespace Lanes.Portal.Components.Pages.Keys;

/// <summary>What the create-key form collects, and its rules (the billing decision checks them again).</summary>
public sealed class KeyForm
{
    public string Name { get; set; } = "";

    public decimal? BudgetUsd { get; set; }

    public string Window { get; set; } = "8h";

    public DateTime? ExpiresOn { get; set; }

    public string Models { get; set; } = "";

    public IReadOnlyList<string> Validate(DateTimeOffset now) => [.. Check(now).Values];

    /// <summary>Each problem keyed by the field it belongs to (nameof the property), so the form shows it on that
    /// field and a screen reader announces it with the field.</summary>
    public IReadOnlyDictionary<string, string> Check(DateTimeOffset now)
    {
        var errors = new Dictionary<string, string>();
        if (string.IsNullOrWhiteSpace(Name) || Name.Trim().Length > 100)
        {
            errors[nameof(Name)] = "Give the key a name of 1-100 characters.";
        }

        if (BudgetUsd is < 0 or > KeyDecisions.MaxBudgetUsd)
        {
            errors[nameof(BudgetUsd)] = $"The budget per window is between $0 and ${KeyDecisions.MaxBudgetUsd:N0}.";
        }

        if (!WindowSchedule.TryParseLength(Window, out _))
        {
            errors[nameof(Window)] = "The window is a length such as 8h, 30m or 1d (1 minute to 31 days).";
        }

        if (ExpiresOn is { } e && new DateTimeOffset(DateTime.SpecifyKind(e, DateTimeKind.Utc)) <= now)
        {
            errors[nameof(ExpiresOn)] = "The expiry must be in the future.";
        }

        return errors;
    }

    public KeyRequest ToRequest()
    {
        WindowSchedule.TryParseLength(Window, out var window);
        return new KeyRequest(Name.Trim(), BudgetUsd, window,
            ExpiresOn is { } e ? new DateTimeOffset(DateTime.SpecifyKind(e, DateTimeKind.Utc)) : null,
            Models.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }
}
