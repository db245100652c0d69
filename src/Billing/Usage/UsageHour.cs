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

