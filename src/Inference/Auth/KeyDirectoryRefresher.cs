using Lanes.Billing.Infrastructure;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Inference.Infrastructure;
using Marten;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Lanes.Inference.Auth;

/// <summary>
/// Loads every key and subscription before the gateway accepts requests, then polls the event sequence and reloads
/// the keys and subscriptions whose streams changed. Usage and window events are skipped: the gateway counts spend
/// itself and only needs lifecycle changes (issue, budget, rotation, revocation, plan and reservation changes).
/// </summary>
public sealed partial class KeyDirectoryRefresher(
    KeyDirectory directory,
    IDocumentStore store,
    NpgsqlDataSource dataSource,
    IOptions<KeyDirectoryOptions> options,
    TimeProvider clock,
    ILogger<KeyDirectoryRefresher> logger) : IHostedService, IAsyncDisposable
{
    // Note: sequence numbers can commit out of order, so every poll looks back over a margin of recent events;
    // reloading a document twice is harmless, missing a revocation is not.
    private const long LookBack = 1_000;

    private static readonly string[] SkippedEvents = ["usage_recorded", "budget_window_closed"];

    private readonly CancellationTokenSource _stopping = new();
    private Task? _loop;
    private long _seen;
    private int _disposed;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _seen = await MaxSequenceAsync(cancellationToken);
        await using (var query = store.QuerySession())
        {
            foreach (var key in await query.Query<ApiKey>().Where(k => k.AnyTenant()).ToListAsync(cancellationToken))
            {
                directory.Upsert(key);
            }

            foreach (var s in await query.Query<Subscription>().Where(s => s.AnyTenant()).ToListAsync(cancellationToken))
            {
                directory.Upsert(s);
            }
        }

        directory.RecountReservations(clock.GetUtcNow());
        Log.Loaded(logger, directory.KeyCount);
        _loop = Task.Run(() => PollAsync(_stopping.Token), CancellationToken.None);
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
        var max = await MaxSequenceAsync(ct);
        var changed = new List<(string Tenant, Guid Stream)>();
        await using (var command = dataSource.CreateCommand(
                         $"select distinct tenant_id, stream_id from {BillingStore.Schema}.mt_events where seq_id > $1 and seq_id <= $2 and type <> all($3)"))
        {
            command.Parameters.Add(new NpgsqlParameter { Value = _seen - LookBack });
            command.Parameters.Add(new NpgsqlParameter { Value = max });
            command.Parameters.Add(new NpgsqlParameter { Value = SkippedEvents });
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                changed.Add((reader.GetString(0), reader.GetGuid(1)));
            }
        }

        if (changed.Count > 0)
        {
            var tenants = changed.Select(c => c.Tenant).Distinct().ToArray();
            var ids = changed.Select(c => c.Stream).Distinct().ToArray();
            await using var query = store.QuerySession();
            foreach (var key in await query.Query<ApiKey>().Where(k => k.TenantIsOneOf(tenants) && k.Id.IsOneOf(ids)).ToListAsync(ct))
            {
                directory.Upsert(key);
            }

            foreach (var s in await query.Query<Subscription>().Where(s => s.TenantIsOneOf(tenants) && s.Id.IsOneOf(ids)).ToListAsync(ct))
            {
                directory.Upsert(s);
            }
        }

        directory.RecountReservations(clock.GetUtcNow());
        _seen = max;
    }

    private async Task PollAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(options.Value.PollInterval);
        while (await timer.TickOrStopAsync(ct))
        {
            try
            {
                await RefreshAsync(ct);
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or Marten.Exceptions.MartenCommandException or InvalidOperationException)
            {
                // Keep serving from memory; the next tick tries again.
                Log.RefreshFailed(logger, e);
            }
        }
    }

    private async Task<long> MaxSequenceAsync(CancellationToken ct)
    {
        await using var command = dataSource.CreateCommand($"select coalesce(max(seq_id), 0) from {BillingStore.Schema}.mt_events");
        return Convert.ToInt64(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 4001, Level = LogLevel.Information, Message = "Key directory loaded with {Count} keys")]
        public static partial void Loaded(ILogger logger, int count);

        [LoggerMessage(EventId = 4002, Level = LogLevel.Warning, Message = "Key directory refresh failed; serving from memory")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);
    }
}
