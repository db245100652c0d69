using JasperFx.Events;
using Lanes.Billing.Keys;
using Marten.Events.Projections;

namespace Lanes.Billing.Usage;

/// <summary>Usage of one key on one model in one UTC hour: what the usage charts and exports read.</summary>
public sealed record UsageHour
{
    public string Id { get; init; } = "";
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

    public static string IdFor(Guid keyId, string model, DateTimeOffset hourStart) =>
        $"{keyId:N}:{model}:{hourStart.UtcDateTime:yyyyMMddHH}";
}

/// <summary>Rolls usage up per hour, asynchronously: charts may lag a second, metering never waits for them.</summary>
public sealed partial class UsageHourProjection : MultiStreamProjection<UsageHour, string>
{
    public UsageHourProjection()
    {
        Identity<UsageRecorded>(e => UsageHour.IdFor(e.KeyId, e.Model, e.HourStart));
    }

    public static UsageHour Create(UsageRecorded e) => new()
    {
        Id = UsageHour.IdFor(e.KeyId, e.Model, e.HourStart),
        KeyId = e.KeyId,
        Model = e.Model,
        HourStart = e.HourStart,
        Requests = e.Requests,
        InputTokens = e.InputTokens,
        OutputTokens = e.OutputTokens,
        SpendUsd = e.SpendUsd,
        Throttled = e.Throttled,
        Detail = e.Detail,
    };

    public static UsageHour Apply(UsageRecorded e, UsageHour hour) => hour with
    {
        Requests = hour.Requests + e.Requests,
        InputTokens = hour.InputTokens + e.InputTokens,
        OutputTokens = hour.OutputTokens + e.OutputTokens,
        SpendUsd = hour.SpendUsd + e.SpendUsd,
        Throttled = hour.Throttled + e.Throttled,
        Detail = hour.Detail is null ? e.Detail : hour.Detail.Add(e.Detail),
    };
}
