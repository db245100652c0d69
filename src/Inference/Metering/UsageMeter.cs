using Lanes.Billing.Usage;

namespace Lanes.Inference.Metering;

/// <summary>What one request used (or why it was refused), counted per key, model, window and hour.</summary>
public readonly record struct Metered(
    Guid TenantId, Guid KeyId, string Model, DateTimeOffset WindowStart, DateTimeOffset At,
    long InputTokens, long OutputTokens, decimal SpendUsd, RefusalCause? Refused, TimeSpan QueueWait = default, TimeSpan LaneTime = default,
    ApiDoor Door = ApiDoor.ChatCompletions);

/// <summary>
/// Aggregates usage in memory; <see cref="UsageFlusher"/> drains it into billing once a second. Note: only counts
/// and money are kept here, never a prompt or a completion.
/// </summary>
public sealed class UsageMeter
{
    private readonly Lock _lock = new();
    private Dictionary<(Guid Tenant, Guid Key, string Model, DateTimeOffset Window, DateTimeOffset Hour), UsageLine> _lines = [];

    public void Record(in Metered m)
    {
        var hour = new DateTimeOffset(m.At.UtcDateTime.Date.AddHours(m.At.UtcDateTime.Hour), TimeSpan.Zero);
        var slot = (m.TenantId, m.KeyId, m.Model, m.WindowStart, hour);
        lock (_lock)
        {
            var line = _lines.GetValueOrDefault(slot) ?? new UsageLine(m.TenantId, m.KeyId, m.Model, m.WindowStart, hour, 0, 0, 0, 0m, 0, UsageDetail.Empty);
            _lines[slot] = m.Refused is { } cause
                ? line with { Throttled = line.Throttled + 1, Detail = line.Detail!.Add(UsageDetail.Refused(cause, m.Door)) }
                : line with
                {
                    Requests = line.Requests + 1,
                    InputTokens = line.InputTokens + m.InputTokens,
                    OutputTokens = line.OutputTokens + m.OutputTokens,
                    SpendUsd = line.SpendUsd + m.SpendUsd,
                    Detail = line.Detail!.Add(UsageDetail.Served(m.QueueWait, m.LaneTime, m.Door)),
                };
        }
    }

    /// <summary>Takes everything metered so far, leaving the meter empty.</summary>
    public IReadOnlyList<UsageLine> Drain()
    {
        lock (_lock)
        {
            if (_lines.Count == 0)
            {
                return [];
            }

            var drained = _lines.Values.ToList();
            _lines = [];
            return drained;
        }
    }
}
