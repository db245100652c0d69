using Lanes.Billing.Usage;
using MudBlazor;

namespace Lanes.Portal.Components.Pages.Usage;

/// <summary>One chart: its series over a shared time axis.</summary>
public sealed record UsageChart(string Title, string Unit, ChartType Type, IReadOnlyList<(string Name, double[] Values)> Series)
{
    public List<ChartSeries<double>> ToMudSeries() =>
        [.. Series.Select(s => new ChartSeries<double> { Name = s.Name, Data = new ChartData<double>(s.Values) })];

    public bool IsEmpty => Series.All(s => s.Values.All(v => v == 0));
}

/// <summary>Turns a usage report into the portal's charts: the arithmetic lives here, tested without a browser.</summary>
public static class UsageChartData
{
    /// <summary>At most this many labelled ticks, so hourly charts over weeks stay readable.</summary>
    public const int MaxLabels = 12;

    /// <summary>Charts with more points than this draw lines instead of stacked bars.</summary>
    public const int MaxStackedBars = 48;

    public static string[] Labels(UsageReport report)
    {
        var points = report.Points;
        var every = Math.Max(1, (int)Math.Ceiling(points.Count / (double)MaxLabels));
        return [.. points.Select((p, i) => i % every != 0 ? "" : report.Query.Granularity == UsageGranularity.Day
            ? p.Start.UtcDateTime.ToString("d MMM")
            : p.Start.UtcDateTime.Hour == 0 || i == 0 ? p.Start.UtcDateTime.ToString("d MMM HH:mm") : p.Start.UtcDateTime.ToString("HH:mm"))];
    }

    /// <param name="reservedLanes">Lanes reserved now: utilisation is lane time used over the lane time they allow.</param>
    public static IReadOnlyList<UsageChart> Charts(UsageReport report, int reservedLanes)
    {
        var p = report.Points;
        var stepSeconds = report.Query.Step.TotalSeconds;

        // Stacked bars read best for a few dozen points; past that they are hundreds of SVG shapes sent over the
        // circuit, and lines show the same series for a fraction of the markup.
        var stacked = p.Count <= MaxStackedBars ? ChartType.StackedBar : ChartType.Line;
        return
        [
            new("Requests", "requests", ChartType.Line, [("Requests", [.. p.Select(x => (double)x.Requests)])]),
            new("Requests by API", "requests", stacked,
            [
                ("Chat Completions", [.. p.Select(x => (double)x.RequestsByApi[(int)ApiDoor.ChatCompletions])]),
                ("Completions", [.. p.Select(x => (double)x.RequestsByApi[(int)ApiDoor.Completions])]),
                ("Responses", [.. p.Select(x => (double)x.RequestsByApi[(int)ApiDoor.Responses])]),
                ("Anthropic Messages", [.. p.Select(x => (double)x.RequestsByApi[(int)ApiDoor.Messages])]),
            ]),
            new("Tokens", "tokens", stacked,
            [
                ("Input", [.. p.Select(x => (double)x.InputTokens)]),
                ("Output", [.. p.Select(x => (double)x.OutputTokens)]),
            ]),
            new("Spend equivalent", "USD at list prices", ChartType.Line, [("Spend", [.. p.Select(x => (double)x.SpendUsd)])]),
            new("429 refusals by cause", "refusals", stacked,
            [
                ("Budget spent", [.. p.Select(x => (double)x.BudgetRefusals)]),
                ("Requests per window used", [.. p.Select(x => (double)x.RequestRefusals)]),
                ("No lane in time", [.. p.Select(x => (double)x.LaneRefusals)]),
            ]),
            new("Lane utilisation", "% of reserved lane time", ChartType.Line,
                [("Utilisation", [.. p.Select(x => reservedLanes <= 0 ? 0 : Math.Round(Math.Min(100, 100 * x.LaneSeconds / (reservedLanes * stepSeconds)), 1))])]),
            new("Queue wait p95", "milliseconds", ChartType.Line, [("p95", [.. p.Select(x => (x.QueueWaitP95Seconds ?? 0) * 1000)])]),
            new("Lane promise: requests within your reservation", "requests", stacked,
            [
                ("Started on time", [.. p.Select(x => (double)x.Honoured)]),
                ("Late or refused", [.. p.Select(x => (double)(x.WithinReservation - x.Honoured))]),
            ]),
            new("Lane promise honoured", "% started within the admission target; hours without such requests show 100", ChartType.Line,
                [("Honoured", [.. p.Select(x => Math.Round(x.HonouredPercent ?? 100, 2))])]),
            new("Admission wait within reservation", "milliseconds (bucket bounds)", ChartType.Line,
            [
                ("p50", [.. p.Select(x => (x.ReservedWaitP50Seconds ?? 0) * 1000)]),
                ("p99", [.. p.Select(x => (x.ReservedWaitP99Seconds ?? 0) * 1000)]),
            ]),
        ];
    }
}
