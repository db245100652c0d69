using System.Globalization;

namespace Lanes.Portal.Components.Shared;

/// <summary>The portal's one way of writing money, dates, counts and plurals, so every page says "$0.38", "16 Dec 2026"
/// and "1 key" alike. Invariant culture: a deployment's server locale must not change what customers read.</summary>
public static class Show
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    /// <summary>Dollars with cents; a positive amount under a cent reads "&lt; $0.01" rather than a misleading "$0.00"
    /// or a wall of zeros.</summary>
    public static string Usd(decimal usd) => usd switch
    {
        > 0m and < 0.01m => "< $0.01",
        < 0m => "-" + Usd(-usd),
        _ => "$" + usd.ToString("N2", Invariant),
    };

    /// <summary>Whole dollars where cents never occur (plan prices): "$20", "$1,250".</summary>
    public static string UsdWhole(decimal usd) => "$" + usd.ToString("N0", Invariant);

    public static string Date(DateTimeOffset at) => at.UtcDateTime.ToString("d MMM yyyy", Invariant);

    public static string DateTime(DateTimeOffset at) => at.UtcDateTime.ToString("d MMM yyyy, HH:mm", Invariant) + " UTC";

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("HH:mm", Invariant) + " UTC";

    public static string Number(long n) => n.ToString("N0", Invariant);

    /// <summary>"1 key", "3 keys", "1,200 requests": the count and the noun that agrees with it.</summary>
    public static string Count(long n, string singular, string? plural = null) =>
        $"{Number(n)} {(n == 1 ? singular : plural ?? singular + "s")}";

    /// <summary>A window length as an adjective: "8-hour", "90-minute" ("requests per 8-hour window").</summary>
    public static string Window(TimeSpan length) => length.TotalHours % 1 == 0
        ? $"{length.TotalHours.ToString("0", Invariant)}-hour" : $"{length.TotalMinutes.ToString("0", Invariant)}-minute";

    /// <summary>A duration the way people say it: "45 min", "3 h 20 min", "2 days".</summary>
    public static string Duration(TimeSpan span)
    {
        if (span < TimeSpan.Zero)
        {
            span = TimeSpan.Zero;
        }

        return span.TotalDays >= 2 ? Count((long)span.TotalDays, "day")
            : span.TotalHours >= 1 ? $"{(int)span.TotalHours} h {span.Minutes} min"
            : $"{(int)Math.Ceiling(span.TotalMinutes)} min";
    }
}
