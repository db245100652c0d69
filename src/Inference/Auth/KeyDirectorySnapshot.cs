using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
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

    public sealed record Content(DateTimeOffset TakenAt, long Sequence, IReadOnlyList<ApiKey> Keys, IReadOnlyList<Subscription> Subscriptions);

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
            return _json.Read<Content>(file);
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
    }
}
