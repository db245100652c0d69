using Lanes.Billing.Infrastructure;
using Npgsql;

namespace Lanes.Billing.Leases;

/// <summary>
/// Slices of a per-window allowance (a key's budget in dollars, a tenant's requests per window) handed to gateway
/// nodes. One row per pool and window holds what has been granted so far; a grant is one atomic UPDATE that never
/// takes the total past the capacity, however many nodes ask at once.
/// </summary>
/// <remarks>
/// Note: a slice a node took is counted as used until that node gives back what it did not use. A node that dies
/// keeps its slice for the rest of the window, so a crash can only lose allowance (at most one slice per node and
/// pool), never grant it twice. Spend across every node is therefore at most the capacity.
/// </remarks>
public sealed class LeasePools(NpgsqlDataSource database, Microsoft.Extensions.Configuration.IConfiguration configuration)
{
    private const string Table = "lanes.lease_pools";

    // A host that does not apply schemas (a least-privilege role) finds the table made by the owner's migrate.
    private int _schemaReady = configuration.AppliesSchema() ? 0 : 1;

    /// <summary>Grants up to <paramref name="wanted"/> (at least <paramref name="minimum"/>, else nothing) from the
    /// pool's window. <paramref name="capacity"/> is the allowance now (a raised budget raises it mid-window);
    /// <paramref name="alreadyUsed"/> seeds a window first seen here with usage billing recorded before leasing.</summary>
    /// <param name="budgetOfKey">For a key's budget pool: the key, whose budget as the database has it caps
    /// <paramref name="capacity"/> in the same statement, so a gateway that has not yet seen a lowered budget cannot
    /// lease against the old one.</param>
    /// <returns>What was granted: 0 when less than <paramref name="minimum"/> is left.</returns>
    public async Task<decimal> GrantAsync(
        string pool, DateTimeOffset windowStart, decimal capacity, decimal wanted, decimal minimum, decimal alreadyUsed = 0m, Guid? budgetOfKey = null, CancellationToken ct = default)
    {
        if (wanted <= 0 || minimum < 0 || minimum > wanted)
        {
            throw new ArgumentOutOfRangeException(nameof(wanted), "A grant asks for a positive amount of at least its minimum.");
        }

        await ApplySchemaAsync(ct);
        await using (var seed = database.CreateCommand($"insert into {Table} (pool, window_start, granted) values ($1, $2, $3) on conflict (pool, window_start) do nothing"))
        {
            seed.Parameters.AddWithValue(pool);
            seed.Parameters.AddWithValue(windowStart.UtcDateTime);
            seed.Parameters.AddWithValue(Math.Max(0m, alreadyUsed));
            await seed.ExecuteNonQueryAsync(ct);
        }

        // The row is locked by the sub-select, so the amount is computed from the latest total even when nodes race.
        var allowance = budgetOfKey is null
            ? "$3"
            : $"least($3, coalesce((select (k.data ->> 'BudgetUsd')::numeric from {BillingStore.Schema}.mt_doc_apikey k where k.id = $6), $3))";
        await using var grant = database.CreateCommand($"""
            update {Table} p set granted = p.granted + s.amount
            from (select least($4, {allowance} - granted) as amount from {Table} where pool = $1 and window_start = $2 for update) s
            where p.pool = $1 and p.window_start = $2 and s.amount >= $5
            returning s.amount
            """);
        grant.Parameters.AddWithValue(pool);
        grant.Parameters.AddWithValue(windowStart.UtcDateTime);
        grant.Parameters.AddWithValue(capacity);
        grant.Parameters.AddWithValue(wanted);
        grant.Parameters.AddWithValue(Math.Max(minimum, 0.000000001m));
        if (budgetOfKey is { } key)
        {
            grant.Parameters.AddWithValue(key);
        }
        var granted = await grant.ExecuteScalarAsync(ct);
        return granted is decimal amount ? amount : 0m;
    }

    /// <summary>Gives back what a node did not use of its slices.</summary>
    public async Task ReturnAsync(string pool, DateTimeOffset windowStart, decimal unused, CancellationToken ct = default)
    {
        if (unused <= 0)
        {
            return;
        }

        await ApplySchemaAsync(ct);
        await using var command = database.CreateCommand($"update {Table} set granted = greatest(0, granted - $3) where pool = $1 and window_start = $2");
        command.Parameters.AddWithValue(pool);
        command.Parameters.AddWithValue(windowStart.UtcDateTime);
        command.Parameters.AddWithValue(unused);
        await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>What the pool's window has handed out, net of returns (support, tests, the bench).</summary>
    public async Task<decimal> GrantedAsync(string pool, DateTimeOffset windowStart, CancellationToken ct = default)
    {
        await ApplySchemaAsync(ct);
        await using var command = database.CreateCommand($"select granted from {Table} where pool = $1 and window_start = $2");
        command.Parameters.AddWithValue(pool);
        command.Parameters.AddWithValue(windowStart.UtcDateTime);
        return await command.ExecuteScalarAsync(ct) is decimal d ? d : 0m;
    }

    /// <summary>Old windows are never read again: the window job deletes them.</summary>
    public async Task<int> DeleteBeforeAsync(DateTimeOffset before, CancellationToken ct = default)
    {
        await ApplySchemaAsync(ct);
        await using var command = database.CreateCommand($"delete from {Table} where window_start < $1");
        command.Parameters.AddWithValue(before.UtcDateTime);
        return await command.ExecuteNonQueryAsync(ct);
    }

    /// <summary>Creates the table once (idempotent); <c>./lanes admin migrate</c> calls it as the owner.</summary>
    public async Task ApplySchemaAsync(CancellationToken ct = default)
    {
        if (Volatile.Read(ref _schemaReady) == 1)
        {
            return;
        }

        await using var command = database.CreateCommand($"""
            create schema if not exists lanes;
            create table if not exists {Table} (
                pool text not null,
                window_start timestamptz not null,
                granted numeric not null default 0,
                primary key (pool, window_start));
            """);
        try
        {
            await command.ExecuteNonQueryAsync(ct);
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.DuplicateObject
                                              or PostgresErrorCodes.DuplicateTable or PostgresErrorCodes.DuplicateSchema)
        {
            // Two callers created it at the same moment ("if not exists" is not atomic in PostgreSQL): it exists.
        }

        Volatile.Write(ref _schemaReady, 1);
    }

    public static string ForKey(Guid keyId) => $"key:{keyId:N}";

    public static string ForTenantRequests(Guid tenantId) => $"requests:{tenantId:N}";
}
