using System.ComponentModel.DataAnnotations;

namespace Lanes.Billing.Notices;

/// <summary>Lanes' own billing emails (<c>Notices</c> section).</summary>
public sealed class NoticeOptions : IValidatableObject
{
    public const string Section = "Notices";

    /// <summary>How long before a trial ends its "trial ending" email goes out.</summary>
    public TimeSpan TrialEndingNotice { get; set; } = TimeSpan.FromDays(3);

    /// <summary>A notice not delivered this long after it was decided is dropped (and logged): news of a failed payment
    /// a week late does more harm than good.</summary>
    public TimeSpan GiveUpAfter { get; set; } = TimeSpan.FromDays(2);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TrialEndingNotice <= TimeSpan.Zero || TrialEndingNotice > TimeSpan.FromDays(30))
        {
            yield return new ValidationResult("Notices:TrialEndingNotice is between 00:00:01 and 30 days.", [nameof(TrialEndingNotice)]);
        }

        if (GiveUpAfter < TimeSpan.FromHours(1))
        {
            yield return new ValidationResult("Notices:GiveUpAfter is at least one hour (a mail server may be down for a while).", [nameof(GiveUpAfter)]);
        }
    }
}
