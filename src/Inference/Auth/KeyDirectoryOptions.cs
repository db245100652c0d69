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
}
