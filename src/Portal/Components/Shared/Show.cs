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

    public static string Date(DateOnly day) => day.ToString("d MMM yyyy", Invariant);

    /// <summary>A span of days, the year once when both ends share it: "2 Oct – 1 Nov 2026", "20 Dec 2026 – 19 Jan 2027".</summary>
    public static string Period(DateTimeOffset from, DateTimeOffset to) => from.UtcDateTime.Year == to.UtcDateTime.Year
        ? $"{from.UtcDateTime.ToString("d MMM", Invariant)} – {Date(to)}"
        : $"{Date(from)} – {Date(to)}";

    public static string DateTime(DateTimeOffset at) => at.UtcDateTime.ToString("d MMM yyyy, HH:mm", Invariant) + " UTC";

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("HH:mm", Invariant) + " UTC";

    public static string Number(long n) => n.ToString("N0", Invariant);

    /// <summary>A figure with at most one decimal: "2.5", "3".</summary>
    public static string Decimal(double value) => value.ToString("#,0.#", Invariant);

    /// <summary>A share in percent: one decimal ("87.5 %"), two from 99 % ("99.95 %"), where objectives are set. Never
    /// rounded up: 99.996 % reads "99.99 %", not a "100 %" that was not met.</summary>
    public static string Percent(double percent)
    {
        var decimals = percent is >= 99 and < 100 ? 2 : 1;
        var scale = Math.Pow(10, decimals);
        // The small allowance keeps 99.95 (9994.99999... once scaled in binary) from reading 99.94.
        var shown = percent < 100 ? Math.Floor(percent * scale + 1e-6) / scale : percent;
        return shown.ToString(decimals == 2 ? "0.##" : "0.#", Invariant) + " %";
    }

    /// <summary>"1 key", "3 keys", "1,200 requests": the count and the noun that agrees with it.</summary>
    public static string Count(long n, string singular, string? plural = null) =>
        $"{Number(n)} {(n == 1 ? singular : plural ?? singular + "s")}";

    /// <summary>A window length as an adjective: "8-hour", "90-minute" ("requests per 8-hour window").</summary>
    public static string Window(TimeSpan length) => length.TotalHours % 1 == 0
        ? $"{length.TotalHours.ToString("0", Invariant)}-hour" : $"{length.TotalMinutes.ToString("0", Invariant)}-minute";

    /// <summary>A subscription's state in words: "trial", "past due", "in grace period" (never the enum's name).</summary>
    public static string Status(Lanes.Billing.Subscriptions.SubscriptionStatus status, bool freeTrial = false) => status switch
    {
        Lanes.Billing.Subscriptions.SubscriptionStatus.Trialing => "trial",
        _ when freeTrial && status is Lanes.Billing.Subscriptions.SubscriptionStatus.Active => "trial",
        Lanes.Billing.Subscriptions.SubscriptionStatus.PastDue => "past due",
        Lanes.Billing.Subscriptions.SubscriptionStatus.InGrace => "in grace period",
        Lanes.Billing.Subscriptions.SubscriptionStatus.None => "no subscription",
        _ => status.ToString().ToLowerInvariant(),
    };

    /// <summary>A short wait: "250 ms", "1,000 ms" below 1 s is never shown; from a second on, "2.5 s".</summary>
    public static string Wait(TimeSpan wait) => wait.TotalMilliseconds < 1000
        ? $"{wait.TotalMilliseconds.ToString("N0", Invariant)} ms"
        : $"{wait.TotalSeconds.ToString("#,0.#", Invariant)} s";

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
