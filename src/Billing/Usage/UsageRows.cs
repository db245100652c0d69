namespace Lanes.Billing.Usage;

/// <summary>A key's usage in one budget window, summed over the lines of the batches being recorded.</summary>
internal sealed record KeyWindowRow(Guid TenantId, Guid KeyId, DateTimeOffset WindowStart, long Requests, long InputTokens, long OutputTokens, decimal SpendUsd, long Throttled);

/// <summary>A key's usage of one model in one UTC hour, summed over the lines of the batches being recorded.</summary>
internal sealed record KeyHourRow(
    Guid TenantId, Guid KeyId, string Model, DateTimeOffset HourStart, long Requests, long InputTokens, long OutputTokens, decimal SpendUsd, long Throttled,
    UsageDetail? Detail);

/// <summary>The rows one recording writes: the lines of its batches summed per key window and per key hour, so each
/// row is upserted once (PostgreSQL refuses to update one row twice in a statement).</summary>
internal sealed record UsageRows(IReadOnlyList<KeyWindowRow> Windows, IReadOnlyList<KeyHourRow> Hours)
{
    public static UsageRows Of(IReadOnlyList<UsageBatch> batches)
    {
        var lines = batches.SelectMany(b => b.Lines).ToList();
        var windows = lines
            .GroupBy(l => (l.TenantId, l.KeyId, l.WindowStart))
            .Select(g => new KeyWindowRow(g.Key.TenantId, g.Key.KeyId, g.Key.WindowStart, g.Sum(l => l.Requests), g.Sum(l => l.InputTokens),
                g.Sum(l => l.OutputTokens), g.Sum(l => l.SpendUsd), g.Sum(l => l.Throttled)))
            .ToList();
        var hours = lines
            .GroupBy(l => (l.TenantId, l.KeyId, l.Model, l.HourStart))
            .Select(g => new KeyHourRow(g.Key.TenantId, g.Key.KeyId, g.Key.Model, g.Key.HourStart, g.Sum(l => l.Requests), g.Sum(l => l.InputTokens),
                g.Sum(l => l.OutputTokens), g.Sum(l => l.SpendUsd), g.Sum(l => l.Throttled),
                g.Aggregate((UsageDetail?)null, (sum, l) => sum is null ? l.Detail : sum.Add(l.Detail))))
            .ToList();
        return new UsageRows(windows, hours);
    }
}
