using System.Globalization;

namespace Lanes.Portal.Components.Pages.Usage;

/// <summary>What a chart's values measure: decides the axis labels ("$0.40", "246k", "250 ms", "99 %").</summary>
public enum ChartUnit
{
    Count,
    Tokens,
    Usd,
    Percent,
    Milliseconds,

    /// <summary>Lanes and engine slots (the staff capacity chart): whole numbers, like counts.</summary>
    Lanes,
}

/// <summary>
/// A value axis fitted to the data: it starts at zero and ends at the first "nice" number (1, 2, 2.5 or 5 times a
/// power of ten) at or above the largest value, so one request fills the chart instead of sitting flat on a fixed
/// 0–20 scale, and 245,760 tokens read "250k" rather than "245760". Percentages always run 0–100.
/// </summary>
public sealed record ChartAxis(ChartUnit Unit, IReadOnlyList<double> Ticks)
{
    /// <summary>Gridlines on an axis, the zero line included (4 intervals read well at 180 px).</summary>
    public const int Intervals = 4;

    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public double Max => Ticks[^1];

    public double Step => Ticks.Count > 1 ? Ticks[1] - Ticks[0] : 1;

    public static ChartAxis Fit(ChartUnit unit, double largest)
    {
        if (unit == ChartUnit.Percent)
        {
            return new ChartAxis(unit, [0, 25, 50, 75, 100]);
        }

        // Counts are whole: an axis for at most one request runs 0–1, not 0–0.25.
        var floor = unit is ChartUnit.Count or ChartUnit.Tokens or ChartUnit.Lanes ? Intervals : 0;
        var top = Math.Max(largest, 0);
        if (top == 0)
        {
            top = unit == ChartUnit.Usd ? 0.01 : 1;
        }

        // The finest nice step that reaches the top in at most Intervals + 1 steps: 245,760 gets 0–250k in 50k steps.
        var step = NiceStep(top / (Intervals + 1));
        if (floor > 0)
        {
            step = Math.Max(step, 1);
        }

        var intervals = (int)Math.Ceiling(top / step - 1e-9);
        return new ChartAxis(unit, [.. Enumerable.Range(0, Math.Max(intervals, 1) + 1).Select(i => Math.Round(i * step, 10))]);
    }

    /// <summary>The smallest of 1, 2, 2.5, 5 × 10ⁿ at or above <paramref name="rough"/>.</summary>
    public static double NiceStep(double rough)
    {
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(rough)));
        foreach (var factor in new[] { 1, 2, 2.5, 5, 10 })
        {
            if (factor * magnitude >= rough * (1 - 1e-9))
            {
                return factor * magnitude;
            }
        }

        return 10 * magnitude;
    }

    /// <summary>A tick's label, with only as many decimals as the step between ticks needs.</summary>
    public string Label(double value) => Format(value, Unit, Step);

    /// <summary>A value as the chart's unit writes it; <paramref name="step"/> decides the precision (a data table
    /// passes 0 for full precision).</summary>
    public static string Format(double value, ChartUnit unit, double step = 0) => unit switch
    {
        ChartUnit.Usd => Dollars(value, step),
        ChartUnit.Percent => $"{value.ToString(step is > 0 and < 1 ? "0.#" : step == 0 ? "0.##" : "0", Invariant)} %",
        ChartUnit.Milliseconds => value >= 1000 ? $"{(value / 1000).ToString(step == 0 || step % 1000 != 0 ? "0.##" : "0", Invariant)} s" : $"{value.ToString("0", Invariant)} ms",
        _ => Compact(value, step),
    };

    private static string Dollars(double value, double step)
    {
        if (value >= 1000)
        {
            return "$" + Compact(value, step);
        }

        // Cents for amounts with cents; more digits only when the ticks are finer than a cent ($0.025).
        var decimals = step == 0 ? (value is > 0 and < 0.01 ? 4 : 2) : step >= 1 ? 0 : Math.Max(2, DecimalsOf(step));
        return "$" + value.ToString("N" + decimals.ToString(Invariant), Invariant);
    }

    /// <summary>1,200 as "1.2k", 245,760 as "246k", 3,500,000 as "3.5M"; below 1,000, the number itself.</summary>
    private static string Compact(double value, double step)
    {
        var (scaled, suffix, scale) = Math.Abs(value) switch
        {
            >= 1e9 => (value / 1e9, "B", 1e9),
            >= 1e6 => (value / 1e6, "M", 1e6),
            >= 1e3 => (value / 1e3, "k", 1e3),
            _ => (value, "", 1),
        };

        // As many decimals as the step between ticks has in this scale (a 2.5k step needs "7.5k"); a data table
        // keeps about three significant digits.
        var decimals = step == 0
            ? (scaled >= 100 || suffix == "" && scaled == Math.Floor(scaled) ? 0 : scaled >= 10 ? 1 : 2)
            : DecimalsOf(step / scale);
        return scaled.ToString("0." + new string('#', decimals), Invariant) + suffix;
    }

    /// <summary>The decimals a number needs to be written exactly (2.5 needs 1, 0.025 needs 3), at most 4.</summary>
    private static int DecimalsOf(double x)
    {
        for (var d = 0; d < 4; d++)
        {
            var shifted = x * Math.Pow(10, d);
            if (Math.Abs(shifted - Math.Round(shifted)) < 1e-6 * Math.Max(1, shifted))
            {
                return d;
            }
        }

        return 4;
    }
}
