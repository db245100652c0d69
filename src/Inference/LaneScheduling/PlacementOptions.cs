using System.ComponentModel.DataAnnotations;

namespace Lanes.Inference.LaneScheduling;

/// <summary>How gateways find each other and split reservations (<c>Gateway:Placement</c>).</summary>
public sealed class PlacementOptions
{
    public const string Section = "Gateway:Placement";

    /// <summary>A gateway that has not reported for this long is taken as gone: its lanes move to the others.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:05:00")]
    public TimeSpan NodeTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How often the placement is computed again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Keep spill lanes on each gateway of a fleet: slots bursting may not take, so a tenant under its
    /// fleet-wide reservation whose requests land unevenly (a random or round-robin balancer) never waits
    /// (docs/scale-out.md). Off, a reservation is held per gateway only.</summary>
    public bool SpillLanes { get; set; } = true;
}
