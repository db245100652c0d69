using System.ComponentModel.DataAnnotations;

namespace Lanes.Inference.Auth;

/// <summary>How the gateway keeps its in-memory key status current (<c>Gateway:Keys</c>).</summary>
public sealed class KeyDirectoryOptions
{
    public const string Section = "Gateway:Keys";

    /// <summary>How often the event store is asked for new key and subscription events. A revoked key stops
    /// working within this interval plus one query.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:05")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>How long the gateway stays ready on a key directory it cannot refresh (the database away). Note:
    /// long, because every gateway loses the database at once in an outage, and a fleet that all goes unready serves
    /// nobody; while the database is away nobody can revoke a key either. Past this, a partitioned gateway leaves
    /// the load balancer.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan MaxStaleness { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>Where the key directory is kept on local disk for a start while the database is away (relative to the
    /// content root). Default: one file per database under the temporary folder.</summary>
    public string? SnapshotPath { get; set; }

    /// <summary>How often, at most, the snapshot is written again after keys or subscriptions changed: a gateway
    /// restarted while the database is away does not know keys issued within this time.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan SnapshotInterval { get; set; } = TimeSpan.FromSeconds(10);
}
