using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Lanes.Billing.Usage;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Metering;

/// <summary>
/// Usage batches on the gateway's local disk until billing has them: a batch is written and flushed to disk before it
/// counts as metered, deleted only after billing acknowledges it, and replayed with the same id when the gateway
/// starts again, so a gateway killed while PostgreSQL is away loses none of it (billing counts a batch id once).
/// Note: bounded by <see cref="MeteringOptions.MaxSpoolBytes"/>; beyond it batches wait in memory only, and the spool's
/// size and age are exported so an operator sees it filling. A batch billing refuses outright is set aside in
/// <c>poison/</c> rather than blocking the ones behind it.
/// </summary>
public sealed partial class UsageSpool
{
    private readonly string _directory;
    private readonly string _poison;
    private readonly long _maxBytes;
    private readonly TimeProvider _clock;
    private readonly ILogger<UsageSpool> _logger;
    private readonly ConcurrentDictionary<Guid, (long Bytes, DateTimeOffset Written)> _files = new();

    public UsageSpool(IOptions<MeteringOptions> options, IConfiguration configuration, IHostEnvironment environment, TimeProvider clock, ILogger<UsageSpool> logger)
    {
        _directory = Path.GetFullPath(options.Value.SpoolPath ?? Infrastructure.LocalState.PerDatabase("lanes-usage-spool", configuration), environment.ContentRootPath);
        _poison = Path.Combine(_directory, "poison");
        _maxBytes = options.Value.MaxSpoolBytes;
        _clock = clock;
        _logger = logger;
        Directory.CreateDirectory(_poison);
    }

    public string DirectoryPath => _directory;

    /// <summary>Batches on disk that billing has not acknowledged.</summary>
    public int Batches => _files.Count;

    public long Bytes => _files.Values.Sum(f => f.Bytes);

    /// <summary>How long the oldest unacknowledged batch has waited (zero when none waits).</summary>
    public TimeSpan OldestAge => _files.IsEmpty ? TimeSpan.Zero : _clock.GetUtcNow() - _files.Values.Min(f => f.Written);

    /// <summary>Batches set aside because billing refused them.</summary>
    public int SetAsideCount => Directory.EnumerateFiles(_poison, "*.json").Count();

    /// <summary>Writes the batch and flushes it to disk; false when the spool is full (the batch then waits in memory
    /// only, as it would without a spool).</summary>
    public bool TryWrite(UsageBatch batch)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(batch, SpoolJson.Default.UsageBatch);
        if (Bytes + bytes.Length > _maxBytes)
        {
            Log.Full(_logger, _maxBytes, Batches);
            return false;
        }

        // A crash mid-write leaves a .tmp (discarded at start), never a half batch under a batch's name.
        Infrastructure.LocalState.WriteAtomically(PathOf(batch.BatchId), bytes);
        _files[batch.BatchId] = (bytes.Length, _clock.GetUtcNow());
        return true;
    }

    /// <summary>Billing has the batch: it leaves the spool.</summary>
    public void Acknowledge(Guid batchId)
    {
        if (_files.TryRemove(batchId, out _))
        {
            File.Delete(PathOf(batchId));
        }
    }

    /// <summary>Billing refused the batch for good (it can never be recorded): kept aside for an operator, out of the
    /// way of the batches behind it.</summary>
    public void SetAside(UsageBatch batch, string reason)
    {
        Log.SetAside(_logger, batch.BatchId, reason);
        if (_files.TryRemove(batch.BatchId, out _) && File.Exists(PathOf(batch.BatchId)))
        {
            File.Move(PathOf(batch.BatchId), Path.Combine(_poison, $"{batch.BatchId:N}.json"), overwrite: true);
        }
    }

    /// <summary>The batches a previous run left unacknowledged, oldest first, to send again with their ids. Files that
    /// cannot be read are set aside; unfinished writes are discarded (they were never counted as metered).</summary>
    public IReadOnlyList<UsageBatch> Replay()
    {
        foreach (var unfinished in Directory.EnumerateFiles(_directory, "*.tmp"))
        {
            File.Delete(unfinished);
        }

        var batches = new List<UsageBatch>();
        foreach (var file in new DirectoryInfo(_directory).EnumerateFiles("*.json").OrderBy(f => f.LastWriteTimeUtc))
        {
            try
            {
                var batch = JsonSerializer.Deserialize(File.ReadAllBytes(file.FullName), SpoolJson.Default.UsageBatch);
                if (batch is not null && _files.TryAdd(batch.BatchId, (file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero))))
                {
                    batches.Add(batch);
                }
            }
            catch (JsonException e)
            {
                Log.Unreadable(_logger, file.Name, e);
                File.Move(file.FullName, Path.Combine(_poison, file.Name), overwrite: true);
            }
        }

        if (batches.Count > 0)
        {
            Log.Replaying(_logger, batches.Count, _directory);
        }

        return batches;
    }

    private string PathOf(Guid batchId) => Path.Combine(_directory, $"{batchId:N}.json");

    private static partial class Log
    {
        [LoggerMessage(EventId = 4104, Level = LogLevel.Error, Message = "The usage spool is full ({MaxBytes} bytes, {Batches} batches): new usage waits in memory only until billing is back")]
        public static partial void Full(ILogger logger, long maxBytes, int batches);

        [LoggerMessage(EventId = 4105, Level = LogLevel.Error, Message = "Usage batch {BatchId} was refused by billing and set aside in the spool's poison folder: {Reason}")]
        public static partial void SetAside(ILogger logger, Guid batchId, string reason);

        [LoggerMessage(EventId = 4106, Level = LogLevel.Error, Message = "Spooled usage file {File} could not be read; set aside")]
        public static partial void Unreadable(ILogger logger, string file, Exception exception);

        [LoggerMessage(EventId = 4107, Level = LogLevel.Information, Message = "Replaying {Batches} usage batches left in the spool at {Directory}")]
        public static partial void Replaying(ILogger logger, int batches, string directory);
    }
}

[JsonSerializable(typeof(UsageBatch))]
internal sealed partial class SpoolJson : JsonSerializerContext;
