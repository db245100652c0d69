namespace Lanes.Portal.Components.Pages.Support;

/// <summary>The support reservation form: lanes, an optional expiry and a required reason.</summary>
public sealed class ReservationForm
{
    public const int MaxLanes = 10_000;

    public int? Lanes { get; set; }

    public DateTime? Until { get; set; }

    public string Reason { get; set; } = "";

    public IReadOnlyList<string> Validate(DateTimeOffset now) => [.. Check(now).Values];

    /// <summary>Each problem keyed by its field (nameof the property), so the form shows it on that field.</summary>
    public IReadOnlyDictionary<string, string> Check(DateTimeOffset now)
    {
        var errors = new Dictionary<string, string>();
        if (Lanes is null or < 0 or > MaxLanes)
        {
            errors[nameof(Lanes)] = $"Enter the lanes to reserve, from 0 to {MaxLanes:N0}.";
        }

        if (UntilUtc is { } until && until <= now)
        {
            errors[nameof(Until)] = "The override's end must be in the future (or empty for no end).";
        }

        if (string.IsNullOrWhiteSpace(Reason))
        {
            errors[nameof(Reason)] = "Say why: the reason is kept in the tenant's history.";
        }
        else if (Reason.Trim().Length > 500)
        {
            errors[nameof(Reason)] = "Keep the reason under 500 characters.";
        }

        return errors;
    }

    /// <summary>The date picked is the last day of the override: it ends at the start of the next UTC day.</summary>
    public DateTimeOffset? UntilUtc => Until is { } d ? new DateTimeOffset(DateTime.SpecifyKind(d.Date, DateTimeKind.Utc)).AddDays(1) : null;
}
