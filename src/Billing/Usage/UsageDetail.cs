namespace Lanes.Billing.Usage;

/// <summary>
/// What the usage charts show beyond counts and money: refusals by cause, the time admitted requests held a lane,
/// and a histogram of their queue waits. Histograms add up across gateways and hours, so a p95 over any range is an
/// exact bucket bound rather than an average of percentiles.
/// </summary>
public sealed record UsageDetail(long BudgetRefusals, long RequestRefusals, long LaneRefusals, double LaneSeconds, long[] QueueWaitCounts)
{
    /// <summary>Requests (served and refused) per API they came through, indexed by <see cref="ApiDoor"/>; null in
    /// usage recorded before doors were counted.</summary>
    public long[]? RequestsByApi { get; init; }

    /// <summary>Requests sent while their tenant had fewer requests running, fleet-wide, than its reserved lanes:
    /// the requests the lane promise covers (admitted, or refused for want of a lane). 0 in usage recorded before
    /// they were counted.</summary>
    public long WithinReservation { get; init; }

    /// <summary>Of <see cref="WithinReservation"/>, those that started within their plan's admission target.</summary>
    public long Honoured { get; init; }

    /// <summary>Queue waits of the within-reservation requests that started, on <see cref="QueueWaitBounds"/>; null
    /// when there were none.</summary>
    public long[]? ReservedWaitCounts { get; init; }

    /// <summary>The most lanes the tenant had running at once, fleet-wide, as seen when its requests started (the
    /// request itself included); 0 in usage recorded before it was counted. A peak, not a sum: merged by the larger.</summary>
    public int PeakLanes { get; init; }

    /// <summary>The honoured share of within-reservation requests, in percent; null when there were none.</summary>
    public double? HonouredPercent => WithinReservation == 0 ? null : 100.0 * Honoured / WithinReservation;

    /// <summary>Upper bounds of the queue-wait buckets, in seconds; the last bucket is open-ended.</summary>
    public static readonly double[] QueueWaitBounds = [0.005, 0.025, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

    public static UsageDetail Empty => new(0, 0, 0, 0, new long[QueueWaitBounds.Length + 1]);

    public static UsageDetail Refused(RefusalCause cause, ApiDoor door = ApiDoor.ChatCompletions) => Empty with
    {
        RequestsByApi = One(door),
        BudgetRefusals = cause == RefusalCause.Budget ? 1 : 0,
        RequestRefusals = cause == RefusalCause.Requests ? 1 : 0,
        LaneRefusals = cause == RefusalCause.Lanes ? 1 : 0,
    };

    public static UsageDetail Served(TimeSpan queueWait, TimeSpan laneTime, ApiDoor door = ApiDoor.ChatCompletions)
    {
        var counts = new long[QueueWaitBounds.Length + 1];
        counts[BucketOf(queueWait.TotalSeconds)] = 1;
        return new UsageDetail(0, 0, 0, Math.Max(0, laneTime.TotalSeconds), counts) { RequestsByApi = One(door) };
    }

    /// <summary>Requests that came through <paramref name="door"/> (0 for usage recorded before doors were counted).</summary>
    public long RequestsThrough(ApiDoor door) => RequestsByApi is { } r && (int)door < r.Length ? r[(int)door] : 0;

    private static long[] One(ApiDoor door)
    {
        var counts = new long[Enum.GetValues<ApiDoor>().Length];
        counts[(int)door] = 1;
        return counts;
    }

    public UsageDetail Add(UsageDetail? other) => other is null ? this : new(
        BudgetRefusals + other.BudgetRefusals,
        RequestRefusals + other.RequestRefusals,
        LaneRefusals + other.LaneRefusals,
        LaneSeconds + other.LaneSeconds,
        [.. Enumerable.Range(0, QueueWaitBounds.Length + 1).Select(i => CountAt(i) + other.CountAt(i))])
    {
        RequestsByApi = RequestsByApi is null && other.RequestsByApi is null
            ? null
            : [.. Enum.GetValues<ApiDoor>().Select(d => RequestsThrough(d) + other.RequestsThrough(d))],
        WithinReservation = WithinReservation + other.WithinReservation,
        Honoured = Honoured + other.Honoured,
        PeakLanes = Math.Max(PeakLanes, other.PeakLanes),
        ReservedWaitCounts = ReservedWaitCounts is null && other.ReservedWaitCounts is null
            ? null
            : [.. Enumerable.Range(0, QueueWaitBounds.Length + 1).Select(i => At(ReservedWaitCounts, i) + At(other.ReservedWaitCounts, i))],
    };

    private static long At(long[]? counts, int i) => counts is not null && i < counts.Length ? counts[i] : 0;

    /// <summary>The bucket bound under which 95% of queue waits fell (null when nothing was admitted; the
    /// largest bound when the slowest 5% waited past it).</summary>
    public double? QueueWaitP95Seconds() => Percentile(QueueWaitCounts, 0.95);

    /// <summary>The bucket bound under which <paramref name="fraction"/> of within-reservation requests' waits fell
    /// (null when none started).</summary>
    public double? ReservedWaitSeconds(double fraction) => ReservedWaitCounts is { } counts ? Percentile(counts, fraction) : null;

    /// <summary>The bucket bound under which <paramref name="fraction"/> of a histogram's waits fell (null when empty;
    /// the largest bound when the slowest waited past it).</summary>
    public static double? Percentile(IReadOnlyList<long> counts, double fraction)
    {
        var total = counts.Sum();
        if (total == 0)
        {
            return null;
        }

        var wanted = (long)Math.Ceiling(total * fraction);
        long seen = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            seen += counts[i];
            if (seen >= wanted)
            {
                return QueueWaitBounds[Math.Min(i, QueueWaitBounds.Length - 1)];
            }
        }

        return QueueWaitBounds[^1];
    }

    public bool IsValid => BudgetRefusals >= 0 && RequestRefusals >= 0 && LaneRefusals >= 0 && LaneSeconds >= 0 && double.IsFinite(LaneSeconds)
        && WithinReservation >= 0 && PeakLanes >= 0 && Honoured >= 0 && Honoured <= WithinReservation
        && (ReservedWaitCounts is null || (ReservedWaitCounts.Length <= QueueWaitBounds.Length + 1 && ReservedWaitCounts.All(c => c >= 0)))
        && QueueWaitCounts.Length <= QueueWaitBounds.Length + 1 && QueueWaitCounts.All(c => c >= 0)
        && (RequestsByApi is null || (RequestsByApi.Length <= Enum.GetValues<ApiDoor>().Length && RequestsByApi.All(c => c >= 0)));

    private long CountAt(int i) => i < QueueWaitCounts.Length ? QueueWaitCounts[i] : 0;

    /// <summary>The queue-wait bucket a wait of <paramref name="seconds"/> falls in.</summary>
    public static int BucketOf(double seconds)
    {
        for (var i = 0; i < QueueWaitBounds.Length; i++)
        {
            if (seconds <= QueueWaitBounds[i])
            {
                return i;
            }
        }

        return QueueWaitBounds.Length;
    }
}

/// <summary>The API a request came through: one admission path, several wire formats.</summary>
public enum ApiDoor
{
    /// <summary>OpenAI Chat Completions (<c>/v1/chat/completions</c>).</summary>
    ChatCompletions,

    /// <summary>OpenAI legacy Completions (<c>/v1/completions</c>).</summary>
    Completions,

    /// <summary>OpenAI Responses (<c>/v1/responses</c>).</summary>
    Responses,

    /// <summary>Anthropic Messages (<c>/v1/messages</c>).</summary>
    Messages,
}

/// <summary>Why a gateway answered 429.</summary>
public enum RefusalCause
{
    /// <summary>The key's budget for the window is spent.</summary>
    Budget,

    /// <summary>The plan's requests per window are used up.</summary>
    Requests,

    /// <summary>No lane became free in time (queue full or wait too long).</summary>
    Lanes,
}
