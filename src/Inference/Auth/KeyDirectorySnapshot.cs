using Lanes.Billing.GatewayContract;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Auth;

/// <summary>
/// The key directory on the gateway's local disk, so a gateway (re)started while PostgreSQL is away still serves the
/// keys it knew: written after every load and at most once a minute after changes, read only when the database
/// cannot be. Holds what the database holds (secret hashes, never secrets), readable by the gateway's user only.
/// </summary>
public sealed partial class KeyDirectorySnapshot
{
    private readonly string _path;
    private readonly DocumentJson _json;
    private readonly ILogger<KeyDirectorySnapshot> _logger;

    public KeyDirectorySnapshot(IOptions<KeyDirectoryOptions> options, IConfiguration configuration, IHostEnvironment environment, DocumentJson json, ILogger<KeyDirectorySnapshot> logger)
    {
        _path = Path.GetFullPath(options.Value.SnapshotPath ?? Infrastructure.LocalState.PerDatabase("lanes-key-snapshot", configuration) + ".json", environment.ContentRootPath);
        _json = json;
        _logger = logger;
    }

    public string FilePath => _path;

    /// <summary>What a snapshot holds. <see cref="Format"/> moves when the shape does, and a snapshot of another
    /// format is not read: the gateway then waits for the database as if there were none. (One written before formats
    /// were numbered reads as format 0.)</summary>
    public sealed record Content(int Format, DateTimeOffset TakenAt, long Sequence, IReadOnlyList<KeyStatus> Keys, IReadOnlyList<TenantReservation> Tenants)
    {
        public const int CurrentFormat = 2;
    }

    public void Save(Content content)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        Infrastructure.LocalState.WriteAtomically(_path, System.Text.Encoding.UTF8.GetBytes(_json.Write(content)), ownerOnly: true);
    }

    /// <summary>The last snapshot, or null when there is none (or it cannot be read).</summary>
    public Content? Load()
    {
        if (!File.Exists(_path))
        {
            return null;
        }

        try
        {
            using var file = File.OpenRead(_path);
            var content = _json.Read<Content>(file);
            if (content.Format != Content.CurrentFormat || content.Keys is null || content.Tenants is null)
            {
                Log.OtherFormat(_logger, _path, content.Format);
                return null;
            }

            return content;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or IOException or InvalidOperationException or NotSupportedException)
        {
            Log.Unreadable(_logger, _path, e);
            return null;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4005, Level = LogLevel.Warning, Message = "The key directory snapshot at {Path} cannot be read")]
        public static partial void Unreadable(ILogger logger, string path, Exception exception);

        [LoggerMessage(EventId = 4006, Level = LogLevel.Warning, Message = "The key directory snapshot at {Path} is of format {Format}, not the one this gateway writes; it is not used")]
        public static partial void OtherFormat(ILogger logger, string path, int format);
    }
}
