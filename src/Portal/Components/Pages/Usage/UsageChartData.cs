using System.Globalization;
using Lanes.Billing.Usage;

namespace Lanes.Portal.Components.Pages.Usage;

/// <summary>How a chart draws its series: counts as bars (stacked when they add up), rates and latencies as lines.</summary>
public enum ChartKind
{
    Bars,
    StackedBars,
    Lines,
}

/// <summary>One series; a null value is a gap: no data for that bucket (a rate with nothing to divide, a bucket not
/// begun), which is not the same as zero.</summary>
public sealed record ChartLine(string Name, double?[] Values);

/// <summary>One chart: its series over a shared time axis, what they measure, and how to draw them.</summary>
public sealed record UsageChart(string Title, string Description, ChartUnit Unit, ChartKind Kind, IReadOnlyList<ChartLine> Series)
{
    /// <summary>True when no bucket has any data: the chart says so instead of drawing an empty frame.</summary>
    public bool IsEmpty => Series.All(s => s.Values.All(v => v is null));

    /// <summary>The largest value the axis must reach (the tallest stack for stacked bars).</summary>
    public double Largest => Kind == ChartKind.StackedBars
        ? Enumerable.Range(0, Series.Count == 0 ? 0 : Series[0].Values.Length).Select(i => Series.Sum(s => s.Values[i] ?? 0)).DefaultIfEmpty(0).Max()
        : Series.SelectMany(s => s.Values).Select(v => v ?? 0).DefaultIfEmpty(0).Max();

    public ChartAxis Axis => ChartAxis.Fit(Unit, Largest);
}

/// <summary>The time axis every chart of a report shares: bucket starts, tick labels, and the bucket still running.</summary>
/// <param name="Partial">The bucket that contains "now": drawn shaded, its figures so far.</param>
public sealed record ChartFrame(IReadOnlyList<DateTimeOffset> Starts, IReadOnlyList<string> Labels, IReadOnlyList<string> RowLabels, int? Partial);

/// <summary>Turns a usage report into the portal's charts: the arithmetic lives here, tested without a browser.</summary>
public static class UsageChartData
{
    /// <summary>At most this many labelled ticks on the time axis (half of them on a phone).</summary>
    public const int MaxLabels = 8;

    public static ChartFrame Frame(UsageReport report, DateTimeOffset now)
    {
        var points = report.Points;
        var daily = report.Query.Granularity == UsageGranularity.Day;
        List<string> labels;
        if (daily)
        {
            var every = Math.Max(1, (int)Math.Ceiling(points.Count / (double)MaxLabels));
            labels = [.. points.Select((p, i) => i % every != 0 ? "" : Format(p.Start, "d MMM"))];
        }
        else
        {
            // Hourly ticks fall on round times, the finest spacing that gives at most MaxLabels: every 1, 2, 3, 6 or
            // 12 hours, or at midnight every day, every other day or on Mondays. A midnight is labelled with its
            // date, any other tick with its time, so a week reads "27 Nov, 28 Nov, ..." wherever it starts.
            var hours = TickHours.FirstOrDefault(h => Math.Ceiling(points.Count / (double)h) <= MaxLabels, TickHours[^1]);
            labels = [.. points.Select(p => !OnTick(p.Start.UtcDateTime, hours) ? "" : p.Start.UtcDateTime.Hour == 0 ? Format(p.Start, "d MMM") : Format(p.Start, "HH:mm"))];
        }

        var rows = points.Select(p => daily ? Format(p.Start, "ddd d MMM") : Format(p.Start, "ddd d MMM HH:mm")).ToList();
        var partial = points.Select((p, i) => (p, i)).Where(x => x.p.Start <= now && now < x.p.Start + report.Query.Step).Select(x => (int?)x.i).FirstOrDefault();
        return new ChartFrame([.. points.Select(p => p.Start)], labels, rows, partial);
    }

    /// <param name="reservedLanes">Lanes reserved now: utilisation is lane time used over the lane time they allow.</param>
    /// <param name="now">Buckets that have not begun are gaps, not zeros; the running one counts only its time so far.</param>
    public static IReadOnlyList<UsageChart> Charts(UsageReport report, int reservedLanes, DateTimeOffset now)
    {
        var p = report.Points;
        var step = report.Query.Step;

        // Counts are zero in a bucket that has passed without traffic, and unknown in one not yet begun.
        double?[] Count(Func<UsagePoint, double> value) => [.. p.Select(x => x.Start > now ? (double?)null : value(x))];
        double?[] Rate(Func<UsagePoint, double?> value) => [.. p.Select(x => x.Start > now ? null : value(x))];

        double? Utilisation(UsagePoint x)
        {
            var elapsed = Math.Min(step.TotalSeconds, (now - x.Start).TotalSeconds);
            return reservedLanes <= 0 || elapsed <= 0 ? null : Math.Round(Math.Min(100, 100 * x.LaneSeconds / (reservedLanes * elapsed)), 1);
        }

        return
        [
            new("Requests", "Requests served and refused", ChartUnit.Count, ChartKind.Bars, [new("Requests", Count(x => x.Requests))]),
            new("Requests by API", "Which API each request came through", ChartUnit.Count, ChartKind.StackedBars,
            [
                new("Chat Completions", Count(x => x.RequestsByApi[(int)ApiDoor.ChatCompletions])),
                new("Completions", Count(x => x.RequestsByApi[(int)ApiDoor.Completions])),
                new("Responses", Count(x => x.RequestsByApi[(int)ApiDoor.Responses])),
                new("Anthropic Messages", Count(x => x.RequestsByApi[(int)ApiDoor.Messages])),
            ]),
            new("Tokens", "Prompt (input) and completion (output) tokens", ChartUnit.Tokens, ChartKind.StackedBars,
            [
                new("Input", Count(x => x.InputTokens)),
                new("Output", Count(x => x.OutputTokens)),
            ]),
            new("Spend equivalent", "What the tokens would cost at list prices; counted against budgets, never billed", ChartUnit.Usd, ChartKind.Bars,
                [new("Spend", Count(x => (double)x.SpendUsd))]),
            new("429 refusals by cause", "Requests refused with HTTP 429, by the limit that refused them", ChartUnit.Count, ChartKind.StackedBars,
            [
                new("Budget spent", Count(x => x.BudgetRefusals)),
                new("Requests per window used", Count(x => x.RequestRefusals)),
                new("No lane in time", Count(x => x.LaneRefusals)),
            ]),
            new("Lane utilisation", "Lane time used over the lane time your reservation allows", ChartUnit.Percent, ChartKind.Lines,
                [new("Utilisation", Rate(Utilisation))]),
            new("Queue wait p95", "95 % of requests waited at most this long for a lane (bucket bounds)", ChartUnit.Milliseconds, ChartKind.Lines,
                [new("p95", Rate(x => x.QueueWaitP95Seconds * 1000))]),
            new("Lane promise: requests within your reservation", "Requests that arrived while fewer than your reserved lanes were busy", ChartUnit.Count, ChartKind.StackedBars,
            [
                new("Started on time", Count(x => x.Honoured)),
                new("Late or refused", Count(x => x.WithinReservation - x.Honoured)),
            ]),
            new("Lane promise honoured", "Share of those requests that started within the admission target; gaps are hours without such requests", ChartUnit.Percent, ChartKind.Lines,
                [new("Honoured", Rate(x => x.HonouredPercent is { } h ? Math.Round(h, 2) : null))]),
            new("Admission wait within reservation", "How long those requests waited to start (bucket bounds)", ChartUnit.Milliseconds, ChartKind.Lines,
            [
                new("p50", Rate(x => x.ReservedWaitP50Seconds * 1000)),
                new("p99", Rate(x => x.ReservedWaitP99Seconds * 1000)),
            ]),
        ];
    }

    private static readonly int[] TickHours = [1, 2, 3, 6, 12, 24, 48, 168];

    private static bool OnTick(DateTime at, int hours) => hours switch
    {
        < 24 => at.Hour % hours == 0,
        168 => at.Hour == 0 && at.DayOfWeek == DayOfWeek.Monday,
        _ => at.Hour == 0 && (int)(at.Date - DateTime.UnixEpoch).TotalDays % (hours / 24) == 0,
    };

    private static string Format(DateTimeOffset at, string format) => at.UtcDateTime.ToString(format, CultureInfo.InvariantCulture);
}
