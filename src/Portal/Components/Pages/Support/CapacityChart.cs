using Lanes.Billing.Capacity;
using MudBlazor;

namespace Lanes.Portal.Components.Pages.Support;

/// <summary>The staff capacity chart: sellable, sold and live over time from the ledger's snapshots, with a point for
/// now, for the fleet or one model pool. The arithmetic lives here, tested without a browser.</summary>
public static class CapacityChart
{
    /// <summary>At most this many points (hourly means over longer ranges keep the chart readable).</summary>
    public const int MaxPoints = 48;

    /// <param name="pool">The model pool to chart; null for the whole fleet.</param>
    public static (List<ChartSeries<double>> Series, string[] Labels) Of(IReadOnlyList<CapacitySnapshot> snapshots, CapacityReport now, DateTimeOffset at, string? pool = null)
    {
        var (sellable, sold, live) = pool is null
            ? (now.SellableLanes, now.SoldLanes, now.LiveSlots)
            : (now.Pool(pool).Now.SellableLanes, now.Pool(pool).SoldLanes, now.Pool(pool).Now.LiveSlots);
        var current = new Point(at, sellable, sold, live);

        // A snapshot taken before the pool existed (or before pools) has no figures for it and is left out.
        var points = snapshots.Select(s => (s.At, Figures: s.For(pool))).Where(s => s.Figures is not null)
            .Select(s => new Point(s.At, s.Figures!.SellableLanes, s.Figures.SoldLanes, s.Figures.LiveSlots))
            .Append(current).ToList();

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
