using Lanes.Billing.GatewayContract;
using Lanes.Inference.Infrastructure;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Auth;

/// <summary>
/// Loads every key and subscription before the gateway accepts requests, then follows billing's key status feed
/// (<see cref="IKeyStatusFeed"/>) and takes the keys and subscriptions that changed.
/// Note: a commit is never missed. Feed positions are taken when a transaction writes, not when it commits, so
/// a slow transaction's change appears below positions already read: every position at or below the last one read that
/// had no change is kept as a gap and asked for again until it fills (or, rolled back, stays empty past
/// <see cref="GapPatience"/>). And every <see cref="ResyncInterval"/> the keys and subscriptions written recently
/// are reloaded whatever the events said.
/// </summary>
public sealed partial class KeyDirectoryRefresher(
    KeyDirectory directory,
    KeyDirectorySnapshot snapshot,
    IKeyStatusFeed feed,
    IOptions<KeyDirectoryOptions> options,
    TimeProvider clock,
    ILogger<KeyDirectoryRefresher> logger) : IHostedService, IAsyncDisposable
{
    /// <summary>How long an empty sequence number is awaited: a transaction still open after this long is caught by
    /// the resync instead.</summary>
    public static readonly TimeSpan GapPatience = TimeSpan.FromMinutes(1);

    /// <summary>How often documents written in the last <see cref="ResyncWindow"/> are reloaded regardless.</summary>
    public static readonly TimeSpan ResyncInterval = TimeSpan.FromMinutes(1);

    public static readonly TimeSpan ResyncWindow = TimeSpan.FromMinutes(10);

    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private long _seen;
    private int _disposed;
    private readonly Dictionary<long, DateTimeOffset> _gaps = [];
    private DateTimeOffset _resyncedAt;
    private long _refreshedAtTicks;

    /// <summary>When the directory last matched the database (null until it has been loaded).</summary>
    public DateTimeOffset? RefreshedAt => Interlocked.Read(ref _refreshedAtTicks) is > 0 and var t ? new DateTimeOffset(t, TimeSpan.Zero) : null;

    private void MarkRefreshed(DateTimeOffset at) => Interlocked.Exchange(ref _refreshedAtTicks, at.UtcTicks);

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await LoadAsync(cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException && snapshot.Load() is { } saved)
        {
            // The database is away: serve the keys known when the snapshot was taken. Readiness counts the directory's
            // age from then, and the poll loop catches up from the snapshot's sequence once the database is back.
            foreach (var key in saved.Keys)
            {
                directory.Upsert(key);
            }

            foreach (var tenant in saved.Tenants)
            {
                directory.Upsert(tenant);
            }

            _seen = saved.Sequence;
            directory.RecountReservations(clock.GetUtcNow());
            MarkRefreshed(saved.TakenAt);
            Log.StartedFromSnapshot(logger, directory.KeyCount, saved.TakenAt, e);
        }

        _loop = Task.Run(() => PollAsync(_stopping.Token), CancellationToken.None);
    }

    private async Task LoadAsync(CancellationToken ct)
    {
        var all = await feed.LoadAllAsync(ct);
        _seen = all.Position;
        Upsert(all.Keys, all.Tenants);

        var now = clock.GetUtcNow();
        directory.RecountReservations(now);
        MarkRefreshed(now);
        Log.Loaded(logger, directory.KeyCount);
        SaveSnapshot(now);
    }

    private long _snapshotVersion = -1;
    private DateTimeOffset _snapshotAt;

    private void SaveSnapshot(DateTimeOffset now)
    {
        var version = directory.Version;
        try
        {
            snapshot.Save(new KeyDirectorySnapshot.Content(KeyDirectorySnapshot.Content.CurrentFormat, now, _seen, directory.Keys, directory.Tenants));
            (_snapshotVersion, _snapshotAt) = (version, now);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.SnapshotFailed(logger, e);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) == 0)
        {
            await _stopping.CancelAsync();
        }

        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Hosts in tests may stop and dispose twice; both are idempotent.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _stopping.CancelAsync();
            _stopping.Dispose();
        }
    }

    /// <summary>One refresh: reload what changed since the last one. Public so tests and start-up can force it.</summary>
    public async Task RefreshAsync(CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var changes = await feed.ChangesAsync(_seen, _gaps.Keys, ct);
        var (max, present) = (changes.Position, changes.Present);
        Upsert(changes.Keys, changes.Tenants);
        var resync = now - _resyncedAt >= ResyncInterval;
        if (resync)
        {
            directory.EvictRevoked(now);

            // Whatever the feed said: every key and subscription written recently, read again.
            var reread = await feed.WrittenSinceAsync(now - ResyncWindow, ct);
            Upsert(reread.Keys, reread.Tenants);
        }

        // Gaps: numbers not yet seen that a slower transaction may still fill. Filled ones are done; new ones start
        // waiting; ones empty for longer than the patience were rolled back (or are the resync's to find).
        foreach (var filled in present.Where(_gaps.ContainsKey))
        {
            _gaps.Remove(filled);
        }

        for (var seq = _seen + 1; seq <= max; seq++)
        {
            if (!present.Contains(seq))
            {
                _gaps.TryAdd(seq, now);
            }
        }

        foreach (var expired in _gaps.Where(g => now - g.Value > GapPatience).Select(g => g.Key).ToList())
        {
            _gaps.Remove(expired);
        }

        directory.RecountReservations(now);
        _seen = max;
        if (resync)
        {
            _resyncedAt = now;
        }

        MarkRefreshed(now);
    }

    /// <summary>Feed positions awaited (for tests).</summary>
    public int OpenGaps => _gaps.Count;

    private void Upsert(IReadOnlyList<KeyStatus> keys, IReadOnlyList<TenantReservation> tenants)
    {
        var now = clock.GetUtcNow();
        foreach (var key in keys)
        {
            directory.Upsert(key, now);
        }

        foreach (var tenant in tenants)
        {
            directory.Upsert(tenant);
        }
    }

    private async Task PollAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval);
        while (await timer.TickOrStopAsync(ct))
        {
            try
            {
                await RefreshAsync(ct);
                var now = clock.GetUtcNow();
                if (directory.Version != _snapshotVersion && now - _snapshotAt >= options.Value.SnapshotInterval)
                {
                    SaveSnapshot(now);
                }
            }
            catch (Exception e) when (!ct.IsCancellationRequested)
            {
                // Keep serving from memory; the next tick tries again. Whatever failed: a refresher that stopped
                // would leave revocations unseen for the rest of the process's life.
                Log.RefreshFailed(logger, e);
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Key directory loaded with {Count} keys")]
        public static partial void Loaded(ILogger logger, int count);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Key directory refresh failed; serving from memory")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);

        [LoggerMessage(EventId = 4003, Level = LogLevel.Warning, Message = "The database is away: started with the {Count} keys of the snapshot taken at {TakenAt}")]
        public static partial void StartedFromSnapshot(ILogger logger, int count, DateTimeOffset takenAt, Exception exception);

        [LoggerMessage(EventId = 4004, Level = LogLevel.Warning, Message = "The key directory snapshot could not be written")]
        public static partial void SnapshotFailed(ILogger logger, Exception exception);
    }
}
