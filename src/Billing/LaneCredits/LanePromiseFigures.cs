using Lanes.Billing.Infrastructure;
using Npgsql;

namespace Lanes.Billing.LaneCredits;

/// <summary>A tenant's lane promise over a stretch of time: requests within reservation and those honoured.</summary>
public readonly record struct PromiseFigures(long WithinReservation, long Honoured)
{
    /// <summary>The honoured share in percent; null when nothing was within reservation.</summary>
    public double? HonouredPercent => WithinReservation == 0 ? null : 100.0 * Honoured / WithinReservation;
}

/// <summary>
/// Reads the lane promise's counts from the hourly usage roll-up, which the gateways fill exactly once per usage batch:
/// the hours that start in [from, to) (a period's hours: <see cref="EndedPeriod.Hours"/>).
/// </summary>
public sealed class LanePromiseFigures(NpgsqlDataSource database)
{
    private const string Hours = $"{BillingStore.Schema}.usage_hours";

    public async Task<PromiseFigures> ForTenantAsync(Guid tenantId, DateTimeOffset from, DateTimeOffset to, CancellationToken ct = default)
    {
        await using var command = database.CreateCommand(
            $"select coalesce(sum(within_reservation), 0)::bigint, coalesce(sum(honoured), 0)::bigint from {Hours} where tenant_id = $1 and hour_start >= $2 and hour_start < $3");
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = from.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = to.UtcDateTime });
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        return new PromiseFigures(reader.GetInt64(0), reader.GetInt64(1));
    }
}
