using System.ComponentModel.DataAnnotations;

namespace Lanes.Inference.LaneScheduling;

/// <summary>The lane scheduler's limits (<c>Gateway:Lanes</c>).</summary>
public sealed class LaneOptions
{
    public const string Section = "Gateway:Lanes";

    /// <summary>Requests that may wait in one tenant's lane queue.</summary>
    [Range(0, 100_000)]
    public int QueueLength { get; set; } = 64;

    /// <summary>How long a request waits for a lane before it gets 429 <c>lane_queue_timeout</c>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often this gateway tells the portal how many lanes each tenant uses and queues.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:01:00")]
    public TimeSpan OccupancyReportInterval { get; set; } = TimeSpan.FromSeconds(2);
}
