using Lanes.Billing.Capacity;
using MudBlazor;

namespace Lanes.Portal.Components.Pages.Support;

/// <summary>The staff capacity chart: sellable, sold and live over time from the ledger's snapshots, with a point for
/// now. The arithmetic lives here, tested without a browser.</summary>
public static class CapacityChart
{
    /// <summary>At most this many points (hourly means over longer ranges keep the chart readable).</summary>
    public const int MaxPoints = 48;

    public static (List<ChartSeries<double>> Series, string[] Labels) Of(IReadOnlyList<CapacitySnapshot> snapshots, CapacityReport now, DateTimeOffset at)
    {
        var points = snapshots.Select(s => new Point(s.At, s.SellableLanes, s.SoldLanes, s.LiveSlots))
            .Append(new Point(at, now.Now.SellableLanes, now.SoldLanes, now.Now.LiveSlots)).ToList();

        // Buckets of equal length; each shows its last value (the ledger as it stood at the end of the bucket).
        var first = points[0].At;
        var bucket = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMinutes(1).Ticks, (at - first).Ticks / MaxPoints + 1));
        var buckets = points.GroupBy(p => (p.At - first).Ticks / bucket.Ticks).OrderBy(g => g.Key).Select(g => g.Last()).ToList();
        return (
            [
                new ChartSeries<double> { Name = "Sellable", Data = new ChartData<double>([.. buckets.Select(b => b.Sellable)]) },
                new ChartSeries<double> { Name = "Sold", Data = new ChartData<double>([.. buckets.Select(b => b.Sold)]) },
                new ChartSeries<double> { Name = "Live slots", Data = new ChartData<double>([.. buckets.Select(b => b.Live)]) },
            ],
            [.. buckets.Select((b, i) => i % Math.Max(1, buckets.Count / 8) == 0 ? b.At.ToString("HH:mm") : "")]);
    }

    private sealed record Point(DateTimeOffset At, double Sellable, double Sold, double Live);
}
