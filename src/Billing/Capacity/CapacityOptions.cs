using System.ComponentModel.DataAnnotations;

namespace Lanes.Billing.Capacity;

/// <summary>Where the lanes that can be sold come from.</summary>
public enum CapacitySource
{
    /// <summary>Per model pool, the live gateways' engine slots (their occupancy reports), or an operator's planned
    /// fleet once it takes effect, less the spare nodes kept for losing a node. What production and <c>./lanes up</c>
    /// run.</summary>
    Fleet,

    /// <summary><see cref="CapacityOptions.TotalLanes"/> as typed: for a deployment whose gateways do not report to
    /// this database, and for tests of selling rules that need no gateway. Sold in the default model pool only.</summary>
    Configured,
}

/// <summary>The cluster's capacity (<c>Capacity</c> section).</summary>
public sealed class CapacityOptions : IValidatableObject
{
    public const string Section = "Capacity";

    public CapacitySource Source { get; set; } = CapacitySource.Fleet;

    /// <summary>The lanes that can be sold with <see cref="CapacitySource.Configured"/>.</summary>
    [Range(0, 1_000_000)]
    public int TotalLanes { get; set; } = 128;

    /// <summary>The trial pool: lanes of the trial plan's model pool kept for free trials. Note: trials draw only from here and paid
    /// plans only from the rest, so sign-ups, however many, can never take capacity a customer pays for.</summary>
    [Range(0, 1_000_000)]
    public int TrialLanes { get; set; } = 8;

    /// <summary>How many of each model pool's largest gateways' slots are never sold, so losing one (a node failure, a rolling
    /// update) leaves every reservation placed. 1 in production; 0 where one node is the whole fleet.</summary>
    [Range(0, 100)]
    public int SpareNodes { get; set; }

    /// <summary>How long a gateway counts as live after its last occupancy report.</summary>
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(15);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Source == CapacitySource.Configured && TrialLanes > TotalLanes)
        {
            yield return new ValidationResult($"Capacity:TrialLanes ({TrialLanes}) cannot exceed Capacity:TotalLanes ({TotalLanes}).", [nameof(TrialLanes)]);
        }

        if (NodeTimeout <= TimeSpan.Zero)
        {
            yield return new ValidationResult("Capacity:NodeTimeout must be positive (for example 00:00:15).", [nameof(NodeTimeout)]);
        }
    }
}
