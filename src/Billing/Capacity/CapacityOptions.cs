using System.ComponentModel.DataAnnotations;

namespace Lanes.Billing.Capacity;

/// <summary>The cluster's capacity (<c>Capacity</c> section): engine slots across all nodes.</summary>
public sealed class CapacityOptions
{
    public const string Section = "Capacity";

    [Range(0, 1_000_000)]
    public int TotalLanes { get; set; } = 128;
}
