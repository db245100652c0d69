using Lanes.Billing.Capacity;
using System.Globalization;
using Lanes.Portal.Components.Pages.Usage;

namespace Lanes.Portal.Components.Pages.Support;

/// <summary>The staff capacity chart: sellable, sold and live over time from the ledger's snapshots, with a point for
/// now, for the fleet or one model pool. The arithmetic lives here, tested without a browser.</summary>
public static class CapacityChart
{
    /// <summary>At most this many points (hourly means over longer ranges keep the chart readable).</summary>
    public const int MaxPoints = 48;

    /// <param name="pool">The model pool to chart; null for the whole fleet.</param>
    public static (UsageChart Chart, ChartFrame Frame) Of(IReadOnlyList<CapacitySnapshot> snapshots, CapacityReport now, DateTimeOffset at, string? pool = null)
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
        var chart = new UsageChart(
            pool is null ? "Capacity, whole fleet" : $"Capacity, pool {pool}",
            "Lanes that can be sold, lanes sold, and engine slots live, over the last 24 hours: live below sold means lost capacity.",
            ChartUnit.Lanes, ChartKind.Lines,
            [
                new ChartLine("Sellable", [.. buckets.Select(b => (double?)b.Sellable)]),
                new ChartLine("Sold", [.. buckets.Select(b => (double?)b.Sold)]),
                new ChartLine("Live slots", [.. buckets.Select(b => (double?)b.Live)]),
            ]);
        var every = Math.Max(1, buckets.Count / 8);
        var frame = new ChartFrame(
            [.. buckets.Select(b => b.At)],
            [.. buckets.Select((b, i) => i % every == 0 ? b.At.UtcDateTime.ToString("HH:mm", CultureInfo.InvariantCulture) : "")],
            [.. buckets.Select(b => b.At.UtcDateTime.ToString("ddd d MMM HH:mm", CultureInfo.InvariantCulture))],
            Partial: null);
        return (chart, frame);
    }

    private sealed record Point(DateTimeOffset At, double Sellable, double Sold, double Live);
}
