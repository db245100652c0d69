using Npgsql;

namespace Lanes.Billing.Usage;

/// <summary>Usage of one key on one model in one UTC hour: what the usage charts and exports read.</summary>
public sealed record UsageHour
{
    public Guid KeyId { get; init; }
    public string Model { get; init; } = "";
    public DateTimeOffset HourStart { get; init; }
    public long Requests { get; init; }
    public long InputTokens { get; init; }
    public long OutputTokens { get; init; }
    public decimal SpendUsd { get; init; }
    public long Throttled { get; init; }

    /// <summary>Refusals by cause, lane time and queue waits (null for usage metered before they were recorded).</summary>
    public UsageDetail? Detail { get; init; }

    /// <summary>Reads the row <see cref="UsageReports"/> selects: key, model, hour, counts, then the detail columns
    /// (refusals, lane time, waits, doors, then the lane promise's counts and waits, then the peak lanes).</summary>
    internal static UsageHour Read(NpgsqlDataReader row) => new()
    {
        KeyId = row.GetGuid(0),
        Model = row.GetString(1),
        HourStart = new DateTimeOffset(row.GetFieldValue<DateTime>(2), TimeSpan.Zero),
        Requests = row.GetInt64(3),
        InputTokens = row.GetInt64(4),
        OutputTokens = row.GetInt64(5),
        SpendUsd = row.GetDecimal(6),
        Throttled = row.GetInt64(7),
        Detail = row.IsDBNull(12)
            ? null
            : new UsageDetail(row.GetInt64(8), row.GetInt64(9), row.GetInt64(10), row.GetDouble(11), row.GetFieldValue<long[]>(12))
            {
                RequestsByApi = row.IsDBNull(13) ? null : row.GetFieldValue<long[]>(13),
                WithinReservation = row.IsDBNull(14) ? 0 : row.GetInt64(14),
                Honoured = row.IsDBNull(15) ? 0 : row.GetInt64(15),
                ReservedWaitCounts = row.IsDBNull(16) ? null : row.GetFieldValue<long[]>(16),
                PeakLanes = row.IsDBNull(17) ? 0 : row.GetInt32(17),
            },
    };
}

