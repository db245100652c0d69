using JasperFx.Events;
using Lanes.Billing.Keys;
using Marten.Events.Projections;

namespace Lanes.Billing.Usage;

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
