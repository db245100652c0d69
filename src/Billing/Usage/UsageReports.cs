using System.Globalization;
using System.Text;
using Npgsql;
using NpgsqlTypes;

namespace Lanes.Billing.Usage;

public enum UsageGranularity
{
    Hour,
    Day,
}

/// <summary>A range of usage to chart or export. <see cref="From"/> and <see cref="To"/> are rounded out to whole
/// buckets; <see cref="KeyId"/> and <see cref="Model"/> narrow it.</summary>
public sealed record UsageQuery(DateTimeOffset From, DateTimeOffset To, UsageGranularity Granularity, Guid? KeyId = null, string? Model = null)
{
    /// <summary>Hourly charts up to 31 days, daily up to 400: enough for any chart, bounded for the database.</summary>
    public static readonly TimeSpan MaxHourly = TimeSpan.FromDays(31);
    public static readonly TimeSpan MaxDaily = TimeSpan.FromDays(400);

    /// <summary>The last 24 hours, hourly: the hour now running and the 23 before it (the usage page's "24h", the
    /// dashboard's and the support console's last-day summary).</summary>
    public static UsageQuery LastDay(DateTimeOffset now, Guid? keyId = null, string? model = null) =>
        new(now.AddHours(-23), now, UsageGranularity.Hour, keyId, model);

    public static UsageQuery LastDays(DateTimeOffset now, int days, UsageGranularity granularity, Guid? keyId = null, string? model = null) =>
        new(now.AddDays(-days), now, granularity, keyId, model);

    public TimeSpan Step => Granularity == UsageGranularity.Hour ? TimeSpan.FromHours(1) : TimeSpan.FromDays(1);

    public DateTimeOffset Start => Floor(From);

    /// <summary>The exclusive end: the start of the bucket after the one holding <see cref="To"/>.</summary>
    public DateTimeOffset End => Floor(To) + Step;

    public void Validate()
    {
        // The range ends at the start of the bucket after To's: that must exist (To in 9999-12-31 has none).
        if (To > DateTimeOffset.MaxValue - Step)
        {
            throw new RuleViolation("invalid_range", $"The range ends too late: usage {(Granularity == UsageGranularity.Hour ? "by the hour ends before 9999-12-31T23:00Z" : "by the day ends before 9999-12-31")}.");
        }

        if (To < From)
        {
            throw new RuleViolation("invalid_range", "The end of the range is before its start.");
        }

        var max = Granularity == UsageGranularity.Hour ? MaxHourly : MaxDaily;
        if (End - Start > max + Step)
        {
            throw new RuleViolation("invalid_range", $"{Granularity} usage covers at most {max.TotalDays:0} days; choose a shorter range or daily points.");
        }
    }

    public DateTimeOffset Floor(DateTimeOffset at)
    {
        var utc = at.UtcDateTime;
        return Granularity == UsageGranularity.Hour
            ? new DateTimeOffset(utc.Year, utc.Month, utc.Day, utc.Hour, 0, 0, TimeSpan.Zero)
            : new DateTimeOffset(utc.Year, utc.Month, utc.Day, 0, 0, 0, TimeSpan.Zero);
    }
}

/// <summary>Usage in one bucket (an hour or a UTC day).</summary>
public sealed record UsagePoint(
    DateTimeOffset Start, long Requests, long InputTokens, long OutputTokens, decimal SpendUsd, long Throttled,
    long BudgetRefusals, long RequestRefusals, long LaneRefusals, double LaneSeconds, double? QueueWaitP95Seconds)
{
    /// <summary>Requests (served and refused) per API, indexed by <see cref="ApiDoor"/>.</summary>
    public IReadOnlyList<long> RequestsByApi { get; init; } = new long[Enum.GetValues<ApiDoor>().Length];

    /// <summary>Requests the lane promise covered, and of those, the ones that started within the admission target.</summary>
    public long WithinReservation { get; init; }

    public long Honoured { get; init; }

    /// <summary>The most lanes the tenant had running at once in the bucket (0 when none started, or for usage
    /// recorded before it was counted).</summary>
    public int PeakLanes { get; init; }

    /// <summary>The honoured share of within-reservation requests, in percent (null when there were none).</summary>
    public double? HonouredPercent => WithinReservation == 0 ? null : 100.0 * Honoured / WithinReservation;

    /// <summary>Admission wait p50 and p99 of within-reservation requests that started (bucket bounds; null when none).</summary>
    public double? ReservedWaitP50Seconds { get; init; }

    public double? ReservedWaitP99Seconds { get; init; }
}

/// <summary>Usage of one model over the whole range, for the per-token comparison.</summary>
public sealed record ModelUsage(string Model, long Requests, long InputTokens, long OutputTokens, decimal SpendUsd);

public sealed record UsageReport(UsageQuery Query, IReadOnlyList<UsagePoint> Points, IReadOnlyList<ModelUsage> Models, UsageDetail Totals)
{
    public long Requests => Points.Sum(p => p.Requests);
    public long InputTokens => Points.Sum(p => p.InputTokens);
    public long OutputTokens => Points.Sum(p => p.OutputTokens);
    public decimal SpendUsd => Points.Sum(p => p.SpendUsd);
    public long Throttled => Points.Sum(p => p.Throttled);

    /// <summary>Share of the reserved lane time this usage filled: lane-seconds used ÷ (lanes × seconds in range).</summary>
    public double? LaneUtilisation(int reservedLanes, DateTimeOffset now)
    {
        var end = Query.End < now ? Query.End : now;
        var seconds = (end - Query.Start).TotalSeconds;
        return reservedLanes <= 0 || seconds <= 0 ? null : Math.Min(1, Totals.LaneSeconds / (reservedLanes * seconds));
    }

    /// <summary>One row per bucket, invariant culture, ISO-8601 UTC times: what spreadsheets and scripts expect.</summary>
    public string ToCsv()
    {
        var csv = new StringBuilder("start_utc,requests,input_tokens,output_tokens,spend_usd,throttled,throttled_budget,throttled_requests,throttled_lanes,lane_seconds,queue_wait_p95_s,requests_chat_completions,requests_completions,requests_responses,requests_messages,within_reservation,honoured,honoured_pct,reserved_wait_p50_s,reserved_wait_p99_s,peak_lanes\n");
        foreach (var p in Points)
        {
            csv.Append(CultureInfo.InvariantCulture, $"{p.Start.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},{p.Requests},{p.InputTokens},{p.OutputTokens},{p.SpendUsd:0.######},{p.Throttled},")
               .Append(CultureInfo.InvariantCulture, $"{p.BudgetRefusals},{p.RequestRefusals},{p.LaneRefusals},{p.LaneSeconds:0.###},{p.QueueWaitP95Seconds?.ToString(CultureInfo.InvariantCulture)},")
               .Append(CultureInfo.InvariantCulture, $"{string.Join(',', p.RequestsByApi)},")
               .Append(CultureInfo.InvariantCulture, $"{p.WithinReservation},{p.Honoured},{p.HonouredPercent?.ToString("0.###", CultureInfo.InvariantCulture)},")
               .Append(CultureInfo.InvariantCulture, $"{p.ReservedWaitP50Seconds?.ToString(CultureInfo.InvariantCulture)},{p.ReservedWaitP99Seconds?.ToString(CultureInfo.InvariantCulture)},{p.PeakLanes}\n");
        }

        return csv.ToString();
    }
}

/// <summary>Reads the hourly usage roll-up of one tenant into chart series. Every query names the tenant.</summary>
public sealed class UsageReports(NpgsqlDataSource database)
{
    public async Task<UsageReport> ForTenantAsync(Guid tenantId, UsageQuery query, CancellationToken ct = default)
    {
        query.Validate();
        await using var command = database.CreateCommand(
            $"""
            select key_id, model, hour_start, requests, input_tokens, output_tokens, spend_usd, throttled,
                   budget_refusals, request_refusals, lane_refusals, lane_seconds, queue_wait_counts, requests_by_api,
                   within_reservation, honoured, reserved_wait_counts, peak_lanes
            from {UsageTables.Hours}
            where tenant_id = $1 and hour_start >= $2 and hour_start < $3 and ($4::uuid is null or key_id = $4) and ($5::text is null or model = $5)
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = tenantId });
        command.Parameters.Add(new NpgsqlParameter { Value = query.Start.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = query.End.UtcDateTime });
        command.Parameters.Add(new NpgsqlParameter { Value = (object?)query.KeyId ?? DBNull.Value, NpgsqlDbType = NpgsqlDbType.Uuid });
        command.Parameters.Add(new NpgsqlParameter { Value = string.IsNullOrEmpty(query.Model) ? DBNull.Value : query.Model, NpgsqlDbType = NpgsqlDbType.Text });
        var hours = new List<UsageHour>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            hours.Add(UsageHour.Read(reader));
        }

        return Build(query, hours);
    }

    /// <summary>Buckets hours into points, with a zero point for every empty bucket so charts keep a true time axis.</summary>
    public static UsageReport Build(UsageQuery query, IReadOnlyList<UsageHour> hours)
    {
        var byBucket = hours.GroupBy(h => query.Floor(h.HourStart)).ToDictionary(g => g.Key, g => g.ToList());
        var points = new List<UsagePoint>();
        var totals = UsageDetail.Empty;
        for (var at = query.Start; at < query.End; at += query.Step)
        {
            var bucket = byBucket.GetValueOrDefault(at) ?? [];
            var detail = bucket.Aggregate(UsageDetail.Empty, (d, h) => d.Add(h.Detail));
            totals = totals.Add(detail);
            points.Add(new UsagePoint(
                at, bucket.Sum(h => h.Requests), bucket.Sum(h => h.InputTokens), bucket.Sum(h => h.OutputTokens), bucket.Sum(h => h.SpendUsd),
                bucket.Sum(h => h.Throttled), detail.BudgetRefusals, detail.RequestRefusals, detail.LaneRefusals, detail.LaneSeconds,
                detail.QueueWaitP95Seconds())
            {
                RequestsByApi = [.. Enum.GetValues<ApiDoor>().Select(detail.RequestsThrough)],
                WithinReservation = detail.WithinReservation,
                Honoured = detail.Honoured,
                PeakLanes = detail.PeakLanes,
                ReservedWaitP50Seconds = detail.ReservedWaitSeconds(0.5),
                ReservedWaitP99Seconds = detail.ReservedWaitSeconds(0.99),
            });
        }

        var models = hours.GroupBy(h => h.Model)
            .Select(g => new ModelUsage(g.Key, g.Sum(h => h.Requests), g.Sum(h => h.InputTokens), g.Sum(h => h.OutputTokens), g.Sum(h => h.SpendUsd)))
            .OrderByDescending(m => m.SpendUsd)
            .ToList();
        return new UsageReport(query, points, models, totals);
    }
}
