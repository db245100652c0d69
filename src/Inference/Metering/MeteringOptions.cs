namespace Lanes.Inference.Metering;

/// <summary>Flush cadence and the usage spool (<c>Gateway:Metering</c>).</summary>
public sealed class MeteringOptions
{
    public const string Section = "Gateway:Metering";

    /// <summary>How often metered usage is spooled and sent to billing: what a gateway killed outright can lose.</summary>
    [System.ComponentModel.DataAnnotations.Range(typeof(TimeSpan), "00:00:00.050", "01:00:00")]
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Where unacknowledged usage batches are kept on disk (relative to the content root); a volume that
    /// outlives the process (an emptyDir outlives container restarts). Default: <c>lanes-usage-spool</c> under the
    /// temporary folder.</summary>
    public string? SpoolPath { get; set; }

    /// <summary>The most the spool holds; beyond it new batches wait in memory only.</summary>
    [System.ComponentModel.DataAnnotations.Range(1L << 16, long.MaxValue)]
    public long MaxSpoolBytes { get; set; } = 256L << 20;
}
