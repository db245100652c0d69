using Lanes.Billing.Usage;

namespace Lanes.Inference.Metering;

/// <summary>What one request used (or why it was refused), counted per key, model, window and hour.
/// <paramref name="Promise"/> says whether the lane promise covered it and whether it was kept; <paramref name="LanesInUse"/>
/// is how many lanes its tenant had running, fleet-wide, once it started (itself included).</summary>
public readonly record struct Metered(
    Guid TenantId, Guid KeyId, string Model, DateTimeOffset WindowStart, DateTimeOffset At,
    long InputTokens, long OutputTokens, decimal SpendUsd, RefusalCause? Refused, TimeSpan QueueWait = default, TimeSpan LaneTime = default,
    ApiDoor Door = ApiDoor.ChatCompletions, LanePromise Promise = LanePromise.NotCovered, int LanesInUse = 0);

/// <summary>Whether a request was within its tenant's reservation when it arrived, and if so whether it started within
/// its plan's admission target.</summary>
public enum LanePromise
{
    /// <summary>The tenant already had its reserved lanes running (or the request never asked for a lane).</summary>
    NotCovered,

    /// <summary>Within reservation, and started within the admission target.</summary>
    Honoured,

    /// <summary>Within reservation, but it waited past the target or got no lane.</summary>
    Missed,
}

/// <summary>
/// Aggregates usage in memory; <see cref="UsageFlusher"/> drains it into billing once a second. Note: only counts
/// and money are kept here, never a prompt or a completion.
/// </summary>
/// <remarks>Every request ends here, so recording is a few additions to a mutable total under a short lock, with no
/// allocation once a key, model and hour has been seen; the immutable <see cref="UsageLine"/>s are built once per
/// flush.</remarks>
public sealed class UsageMeter
{
    private static readonly int Doors = Enum.GetValues<ApiDoor>().Length;

    private readonly Lock _lock = new();
    private Dictionary<(Guid Tenant, Guid Key, string Model, DateTimeOffset Window, DateTimeOffset Hour), Total> _totals = [];

    public void Record(in Metered m)
    {
        var at = m.At.UtcTicks;
        var hour = new DateTimeOffset(at - at % TimeSpan.TicksPerHour, TimeSpan.Zero);
        var slot = (m.TenantId, m.KeyId, m.Model, m.WindowStart, hour);
        var bucket = m.Refused is null ? UsageDetail.BucketOf(m.QueueWait.TotalSeconds) : 0;
        lock (_lock)
        {
            if (!_totals.TryGetValue(slot, out var total))
            {
                total = new Total();
                _totals[slot] = total;
            }

            total.ByDoor[(int)m.Door]++;
            total.PeakLanes = Math.Max(total.PeakLanes, m.LanesInUse);
            if (m.Promise != LanePromise.NotCovered)
            {
                total.WithinReservation++;
                if (m.Promise == LanePromise.Honoured)
                {
                    total.Honoured++;
                }

                if (m.Refused is null)
                {
                    total.ReservedWaits[bucket]++;
                }
            }

            switch (m.Refused)
            {
                case null:
                    total.Requests++;
                    total.InputTokens += m.InputTokens;
                    total.OutputTokens += m.OutputTokens;
                    total.SpendUsd += m.SpendUsd;
                    total.LaneSeconds += Math.Max(0, m.LaneTime.TotalSeconds);
                    total.QueueWaits[bucket]++;
                    break;
                case RefusalCause.Budget:
                    total.BudgetRefusals++;
                    break;
                case RefusalCause.Requests:
                    total.RequestRefusals++;
                    break;
                default:
                    total.LaneRefusals++;
                    break;
            }
        }
    }

    /// <summary>Takes everything metered so far, leaving the meter empty.</summary>
    public IReadOnlyList<UsageLine> Drain()
    {
        Dictionary<(Guid Tenant, Guid Key, string Model, DateTimeOffset Window, DateTimeOffset Hour), Total> drained;
        lock (_lock)
        {
            if (_totals.Count == 0)
            {
                return [];
            }

            (drained, _totals) = (_totals, []);
        }

        var lines = new List<UsageLine>(drained.Count);
        foreach (var ((tenant, key, model, window, hour), t) in drained)
        {
            var detail = new UsageDetail(t.BudgetRefusals, t.RequestRefusals, t.LaneRefusals, t.LaneSeconds, t.QueueWaits)
            {
                RequestsByApi = t.ByDoor,
                WithinReservation = t.WithinReservation,
                Honoured = t.Honoured,
                PeakLanes = t.PeakLanes,
                ReservedWaitCounts = t.WithinReservation == 0 ? null : t.ReservedWaits,
            };
            lines.Add(new UsageLine(tenant, key, model, window, hour, t.Requests, t.InputTokens, t.OutputTokens, t.SpendUsd,
                t.BudgetRefusals + t.RequestRefusals + t.LaneRefusals, detail));
        }

        return lines;
    }

    /// <summary>The running total of one key, model, window and hour; written only under the meter's lock.</summary>
    private sealed class Total
    {
        public long Requests, InputTokens, OutputTokens, BudgetRefusals, RequestRefusals, LaneRefusals, WithinReservation, Honoured;
        public decimal SpendUsd;
        public double LaneSeconds;
        public int PeakLanes;
        public readonly long[] QueueWaits = new long[UsageDetail.QueueWaitBounds.Length + 1];
        public readonly long[] ReservedWaits = new long[UsageDetail.QueueWaitBounds.Length + 1];
        public readonly long[] ByDoor = new long[Doors];
    }
}
