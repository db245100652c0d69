using JasperFx;
using Lanes.Billing.Infrastructure;
using Lanes.Billing.Keys;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Marten;
using Microsoft.Extensions.Logging;

namespace Lanes.Billing.Windows;

/// <summary>
/// Closes every budget window whose end has passed, recording its totals, and opens the next. Safe to run on
/// several servers at once: each key is appended at its expected version, so a key rolled by another runner is
/// refused here and skipped.
/// </summary>
public sealed partial class WindowRoller(IDocumentStore store, StreamVersions streams, KeyUsage usage, TimeProvider clock, ILogger<WindowRoller> logger)
{
    public const int PageSize = 500;

    /// <returns>How many windows this run closed.</returns>
    public async Task<int> RollDueWindowsAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var closed = 0;
        var after = Guid.Empty;

        // Pages are found one after another (keyset paging over every tenant: the job is the operator's, not a
        // tenant's) and rolled concurrently, a couple at a time, so the database's and this process's cores both work.
        var running = new List<Task<int>>();
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            IReadOnlyList<KeyRef> page;
            await using (var query = store.QuerySession())
            {
                page = await query.Query<ApiKey>()
                    .Where(k => k.AnyTenant() && k.State == KeyState.Active && k.WindowEnd <= now && k.Id > after)
                    .OrderBy(k => k.Id)
                    .Select(k => new KeyRef(k.Id, k.TenantId))
                    .Take(PageSize)
                    .ToListAsync(ct);
            }

            if (page.Count == 0)
            {
                break;
            }

            after = page[^1].Id;
            running.Add(RollPageAsync(page, now, ct));
            if (running.Count >= Parallelism)
            {
                var done = await Task.WhenAny(running);
                running.Remove(done);
                closed += await done;
            }
        }

        closed += (await Task.WhenAll(running)).Sum();
        if (closed > 0)
        {
            Log.WindowsClosed(logger, closed);
        }

        return closed;
    }

    private static int Parallelism => Math.Max(2, Environment.ProcessorCount);

    private async Task<int> RollPageAsync(IReadOnlyList<KeyRef> page, DateTimeOffset now, CancellationToken ct)
    {
        try
        {
            await using var session = store.LightweightSession();

            // Versions first, then the keys: a revocation that lands in between makes the append below fail rather
            // than roll a key on a stale state. The totals are the window's as recorded now; a batch for it that
            // lands later is still in the usage tables and charts, not in the closing record.
            var ids = page.Select(k => k.Id).ToArray();
            var tenants = page.Select(k => Tenant.MartenTenantOf(k.TenantId)).Distinct().ToArray();
            var versions = await streams.ReadAsync(tenants, ids, ct);
            var fresh = await usage.ReadOntoAsync(
                await session.Query<ApiKey>().Where(k => k.TenantIsOneOf(tenants) && k.Id.IsOneOf(ids)).ToListAsync(ct), lastUse: false, ct);
            var rolled = 0;
            foreach (var key in fresh.Where(k => k.State == KeyState.Active))
            {
                if (KeyDecisions.RollWindow(key, now) is { } e)
                {
                    session.ForTenant(Tenant.MartenTenantOf(key.TenantId)).Events.Append(key.Id, versions[key.Id] + 1, e);
                    rolled++;
                }
            }

            await session.SaveChangesAsync(ct);
            return rolled;
        }
        catch (ConcurrencyException)
        {
            // Another runner or a person got to some of these keys first: roll them one at a time.
            var rolled = 0;
            foreach (var key in page)
            {
                rolled += await RollOneAsync(key.TenantId, key.Id, now, ct);
            }

            return rolled;
        }
    }

    private async Task<int> RollOneAsync(Guid tenantId, Guid keyId, DateTimeOffset now, CancellationToken ct)
    {
        await using var session = store.LightweightSession(Tenant.MartenTenantOf(tenantId));
        var stream = await session.Events.FetchForWriting<ApiKey>(keyId, ct);
        if (stream.Aggregate is not { State: KeyState.Active } found
            || KeyDecisions.RollWindow((await usage.ReadOntoAsync([found], lastUse: false, ct))[0], now) is not { } e)
        {
            return 0;
        }

        stream.AppendOne(e);
        try
        {
            await session.SaveChangesAsync(ct);
            return 1;
        }
        catch (ConcurrencyException)
        {
            return 0;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 3001, Level = LogLevel.Information, Message = "Closed {Count} budget windows")]
        public static partial void WindowsClosed(ILogger logger, int count);
    }

    /// <summary>A key's id and tenant: enough to find it by primary key.</summary>
    private sealed record KeyRef(Guid Id, Guid TenantId);
}
