using Lanes.Billing.GatewayContract;
using Lanes.Billing.Infrastructure;
using Npgsql;

namespace Lanes.Billing.Leases;

/// <summary>
/// Slices of a per-window allowance (a key's budget in dollars, a tenant's requests per window) handed to gateways.
/// One row per pool and window holds what has been granted so far; a grant is one atomic UPDATE that never takes the
/// total past the capacity, however many gateways ask at once. Each slice is held by a named holder (one gateway
/// process) with a <em>ceiling</em>: how much of what it holds it may spend without telling the database again.
/// </summary>
/// <remarks>
/// Note: a holder never spends past its ceiling, and raises it (a write) before it would. So what a holder holds
/// above its ceiling is known to be unspent: once a holder has not renewed for a while (killed, or cut off from the
/// database), any survivor gives that part back (<see cref="ReclaimAsync"/>), and nothing is ever granted twice.
/// A dead holder loses only its ceiling's headroom, for the rest of the window.
/// </remarks>
public sealed class LeasePools(NpgsqlDataSource database) : ILeasePools
{
    private const string Pools = LeaseTables.Pools;
    private const string Holds = LeaseTables.Holds;
    private const string Holders = LeaseTables.Holders;

    /// <summary>Grants <paramref name="holder"/> up to <paramref name="wanted"/> (at least <paramref name="minimum"/>,
    /// else nothing) from the pool's window. <paramref name="capacity"/> is the allowance now (a raised budget raises it
    /// mid-window); <paramref name="alreadyUsed"/> seeds a window first seen here with usage billing recorded before
    /// leasing. The holder's ceiling is raised to <paramref name="spendable"/> (never lowered, never past what it holds).</summary>
    /// <param name="budgetOfKey">For a key's budget pool: the key, whose budget as the database has it caps
    /// <paramref name="capacity"/> in the same statement, so a gateway that has not yet seen a lowered budget cannot
    /// lease against the old one.</param>
    public async Task<LeaseGrant> GrantAsync(
        string pool, DateTimeOffset windowStart, string holder, decimal capacity, decimal wanted, decimal minimum, decimal spendable,
        decimal alreadyUsed = 0m, Guid? budgetOfKey = null, CancellationToken ct = default)
    {
        if (wanted <= 0 || minimum < 0 || minimum > wanted)
        {
            throw new ArgumentOutOfRangeException(nameof(wanted), "A grant asks for a positive amount of at least its minimum.");
        }

        return await ReconnectingAsync(
            c => TryGrantAsync(pool, windowStart, holder, capacity, wanted, minimum, spendable, alreadyUsed, budgetOfKey, c), ct);
    }

    /// <summary>Runs a lease call, and once more on a fresh connection when the first failed on a connection that died.</summary>
    /// <remarks>Note: a pooled connection that died with the server (PostgreSQL restarted since it was last used, or a
    /// network that reset it) fails on its first use, and so would every other idle one: a request waiting for this
    /// call would be refused for a database that is back. So the idle connections are dropped and the call asked once
    /// more. Every lease call may run twice: a grant that did commit before its connection broke is held by its holder,
    /// within the capacity, and given back when unused; a renewal only raises; a return says what to keep.</remarks>
    private async Task<T> ReconnectingAsync<T>(Func<CancellationToken, Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await call(ct);
        }
        catch (NpgsqlException e) when (e.IsTransient && e.InnerException is not TimeoutException && !ct.IsCancellationRequested)
        {
            // Not after a timeout: a database that is slow or silent would only be waited for twice.
            database.Clear();
            return await call(ct);
        }
    }

    private async Task<LeaseGrant> TryGrantAsync(
        string pool, DateTimeOffset windowStart, string holder, decimal capacity, decimal wanted, decimal minimum, decimal spendable,
        decimal alreadyUsed, Guid? budgetOfKey, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Sql.Command(
            $"insert into {Pools} (pool, window_start, granted) values ($1, $2, $3) on conflict (pool, window_start) do nothing",
            pool, windowStart.UtcDateTime, Math.Max(0m, alreadyUsed)));
        batch.BatchCommands.Add(Heartbeat(holder));

        // The pool's row is locked by the sub-select, so the amount is computed from the latest total even when
        // gateways race; the holder's row is written in the same statement, so a grant is never unowned.
        var allowance = budgetOfKey is null
            ? "$3"
            : $"least($3, coalesce((select (k.data ->> 'BudgetUsd')::numeric from {BillingStore.Schema}.mt_doc_apikey k where k.id = $8), $3))";
        batch.BatchCommands.Add(Sql.Command($"""
            with s as (select least($4, {allowance} - granted) as amount, {allowance} - granted as unleased from {Pools} where pool = $1 and window_start = $2 for update),
            g as (update {Pools} p set granted = p.granted + s.amount from s
                  where p.pool = $1 and p.window_start = $2 and s.amount >= $5 returning s.amount, s.unleased - s.amount as left_over),
            h as (insert into {Holds} as h (pool, window_start, holder, held, ceiling)
                  select $1, $2, $6, g.amount, least(g.amount, $7) from g
                  on conflict (pool, window_start, holder) do update
                  set held = h.held + excluded.held, ceiling = least(h.held + excluded.held, greatest(h.ceiling, $7))
                  returning h.held, h.ceiling)
            select g.amount, h.held, h.ceiling, g.left_over from g, h
            """,
            pool, windowStart.UtcDateTime, capacity, wanted, Math.Max(minimum, 0.000000001m), holder, spendable, budgetOfKey ?? Guid.Empty));
        await using (var reader = await batch.ExecuteReaderAsync(ct))
        {
            while (reader.FieldCount == 0 || !await reader.ReadAsync(ct))
            {
                if (!await reader.NextResultAsync(ct))
                {
                    goto refused;
                }
            }

            return new LeaseGrant(reader.GetDecimal(0), reader.GetDecimal(1), reader.GetDecimal(2), reader.GetDecimal(3));
        }

    refused:
        // Say that this pool is wanted: holders idle on it give back what they did not use (WantedAsync), where
        // otherwise they would keep it while the pool had plenty left.
        await using var wantedNow = database.CreateCommand($"update {Pools} set wanted_at = now() where pool = $1 and window_start = $2");
        Sql.AddParameters(wantedNow.Parameters, pool, windowStart.UtcDateTime);
        await wantedNow.ExecuteNonQueryAsync(ct);
        return new LeaseGrant(0m, 0m, 0m, 0m);
    }

    /// <summary>The pools <paramref name="holder"/> holds part of that another holder asked in vain within
    /// <paramref name="recently"/>: what it leased there and does not use should go back now.</summary>
    public async Task<IReadOnlyList<(string Pool, DateTimeOffset WindowStart)>> WantedAsync(string holder, TimeSpan recently, CancellationToken ct = default)
    {
        await using var command = database.CreateCommand($"""
            select h.pool, h.window_start from {Holds} h join {Pools} p on p.pool = h.pool and p.window_start = h.window_start
            where h.holder = $1 and p.wanted_at > now() - $2
            """);
        Sql.AddParameters(command.Parameters, holder, recently);
        var wanted = new List<(string, DateTimeOffset)>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            wanted.Add((reader.GetString(0), new DateTimeOffset(reader.GetFieldValue<DateTime>(1), TimeSpan.Zero)));
        }

        return wanted;
    }

    /// <summary>Gives back what <paramref name="holder"/> holds of the pool's window above <paramref name="keep"/> (what it
    /// has spent and still holds for running requests). Idempotent: sending it twice gives back once, so a return that
    /// committed but looked failed can be sent again.</summary>
    public async Task ReleaseAsync(string pool, DateTimeOffset windowStart, string holder, decimal keep, CancellationToken ct = default)
    {
        await ReconnectingAsync(async c =>
        {
            await using var command = database.CreateCommand($"""
                with old as (select held from {Holds} where pool = $1 and window_start = $2 and holder = $3 for update),
                h as (update {Holds} set held = least(held, $4), ceiling = least(ceiling, $4)
                      where pool = $1 and window_start = $2 and holder = $3 and held > $4)
                update {Pools} p set granted = greatest(0, p.granted - (old.held - $4))
                from old where p.pool = $1 and p.window_start = $2 and old.held > $4
                """);
            Sql.AddParameters(command.Parameters, pool, windowStart.UtcDateTime, holder, Math.Max(0m, keep));
            await command.ExecuteNonQueryAsync(c);
            return true;
        }, ct);
    }

    /// <summary>The holder's heartbeat: marks it alive and raises each listed lease's ceiling to what it asks (never
    /// past what it holds). Returns the leases as the database has them, so a holder learns what was reclaimed.</summary>
    public Task<IReadOnlyList<HeldLease>> RenewAsync(string holder, IReadOnlyCollection<LeaseRenewal> leases, CancellationToken ct = default) =>
        ReconnectingAsync(c => TryRenewAsync(holder, leases, c), ct);

    private async Task<IReadOnlyList<HeldLease>> TryRenewAsync(string holder, IReadOnlyCollection<LeaseRenewal> leases, CancellationToken ct)
    {
        await using var batch = database.CreateBatch();
        batch.BatchCommands.Add(Heartbeat(holder));
        if (leases.Count > 0)
        {
            batch.BatchCommands.Add(Sql.Command($"""
                update {Holds} h set ceiling = least(h.held, greatest(h.ceiling, r.spendable))
                from unnest($2::text[], $3::timestamptz[], $4::numeric[]) as r(pool, window_start, spendable)
                where h.holder = $1 and h.pool = r.pool and h.window_start = r.window_start
                returning h.pool, h.window_start, h.held, h.ceiling
                """,
                holder, leases.Select(l => l.Pool).ToArray(), leases.Select(l => l.WindowStart.UtcDateTime).ToArray(), leases.Select(l => l.Spendable).ToArray()));
        }

        var renewed = new List<HeldLease>(leases.Count);
        await using var reader = await batch.ExecuteReaderAsync(ct);
        do
        {
            while (reader.FieldCount > 0 && await reader.ReadAsync(ct))
            {
                renewed.Add(new HeldLease(reader.GetString(0), reader.GetFieldValue<DateTimeOffset>(1), reader.GetDecimal(2), reader.GetDecimal(3)));
            }
        }
        while (await reader.NextResultAsync(ct));

        return renewed;
    }

    /// <summary>Gives back, for every holder silent for <paramref name="silentFor"/> (by the database's clock), what
    /// it holds above its ceiling: it cannot have spent that. Any gateway may call it; concurrent callers give back once.</summary>
    /// <returns>How many leases were shrunk.</returns>
    public async Task<int> ReclaimAsync(TimeSpan silentFor, CancellationToken ct = default)
    {
        await using var command = database.CreateCommand($"""
            with stale as (
                select h.pool, h.window_start, h.holder, h.held - h.ceiling as amount
                from {Holds} h join {Holders} n on n.holder = h.holder
                where n.renewed_at < now() - $1::interval and h.held > h.ceiling
                for update of h skip locked),
            shrunk as (update {Holds} h set held = h.ceiling from stale s
                       where h.pool = s.pool and h.window_start = s.window_start and h.holder = s.holder),
            sums as (select pool, window_start, sum(amount) as amount from stale group by pool, window_start),
            pools as (update {Pools} p set granted = greatest(0, p.granted - sums.amount) from sums
                      where p.pool = sums.pool and p.window_start = sums.window_start)
            select count(*)::int from stale
            """);
        command.Parameters.AddWithValue(silentFor);
        return (int)(await command.ExecuteScalarAsync(ct))!;
    }

    /// <summary>What the pool's window has handed out, net of returns (support, tests, the bench).</summary>
    public async Task<decimal> GrantedAsync(string pool, DateTimeOffset windowStart, CancellationToken ct = default)
    {
        await using var command = database.CreateCommand($"select granted from {Pools} where pool = $1 and window_start = $2");
        Sql.AddParameters(command.Parameters, pool, windowStart.UtcDateTime);
        return await command.ExecuteScalarAsync(ct) is decimal d ? d : 0m;
    }

    /// <summary>Old windows are never read again, nor holders long gone: the window job deletes them.</summary>
    public async Task<int> DeleteBeforeAsync(DateTimeOffset before, CancellationToken ct = default)
    {
        await using var command = database.CreateCommand($"""
            with h as (delete from {Holds} where window_start < $1),
            n as (delete from {Holders} n where renewed_at < $1 and not exists (select 1 from {Holds} h where h.holder = n.holder and h.window_start >= $1))
            delete from {Pools} where window_start < $1
            """);
        command.Parameters.AddWithValue(before.UtcDateTime);
        return await command.ExecuteNonQueryAsync(ct);
    }

    public static string ForKey(Guid keyId) => ILeasePools.ForKey(keyId);

    public static string ForTenantRequests(Guid tenantId) => ILeasePools.ForTenantRequests(tenantId);

    private static NpgsqlBatchCommand Heartbeat(string holder) => Sql.Command(
        $"insert into {Holders} (holder, renewed_at) values ($1, now()) on conflict (holder) do update set renewed_at = now()", holder);
}
