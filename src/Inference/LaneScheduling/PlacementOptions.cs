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
}
