using System.ComponentModel.DataAnnotations;

namespace Lanes.Billing.Capacity;

/// <summary>The cluster's capacity (<c>Capacity</c> section): engine slots across all nodes.</summary>
public sealed class CapacityOptions : IValidatableObject
{
    public const string Section = "Capacity";

    [Range(0, 1_000_000)]
    public int TotalLanes { get; set; } = 128;

    /// <summary>The trial pool: lanes of <see cref="TotalLanes"/> kept for free trials. Note: trials draw only from
    /// here and paid plans only from the rest, so sign-ups, however many, can never take capacity a customer pays for.</summary>
    [Range(0, 1_000_000)]
    public int TrialLanes { get; set; } = 8;

    /// <summary>The lanes paid plans (and staff overrides on them) can be sold from.</summary>
    public int PaidLanes => TotalLanes - TrialLanes;

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TrialLanes > TotalLanes)
        {
            yield return new ValidationResult($"Capacity:TrialLanes ({TrialLanes}) cannot exceed Capacity:TotalLanes ({TotalLanes}).", [nameof(TrialLanes)]);
        }
    }
}
