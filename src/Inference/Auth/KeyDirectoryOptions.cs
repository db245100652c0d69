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
}
