namespace Lanes.Shared.Windows;

/// <summary>
/// Window boundaries. Windows are aligned to the Unix epoch in UTC, so an 8-hour window always starts at
/// 00:00, 08:00 or 16:00 UTC, for every key and every node: anyone can compute a reset time without asking.
/// </summary>
public static class WindowSchedule
{
    public static readonly TimeSpan Minimum = TimeSpan.FromMinutes(1);
    public static readonly TimeSpan Maximum = TimeSpan.FromDays(31);

    public static Window At(DateTimeOffset instant, TimeSpan length)
    {
        if (length < Minimum || length > Maximum)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, $"A window lasts between {Minimum} and {Maximum}.");
        }

        var ticks = instant.UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        var start = ticks - (ticks % length.Ticks);
        if (ticks < 0 && ticks % length.Ticks != 0)
        {
            start -= length.Ticks;
        }

        var startAt = new DateTimeOffset(DateTimeOffset.UnixEpoch.UtcTicks + start, TimeSpan.Zero);
        return new Window(startAt, startAt + length);
    }

    /// <summary>Parses lengths written as operators write them: "8h", "30m", "1d", or "08:00:00".</summary>
    public static bool TryParseLength(string? text, out TimeSpan length)
    {
        length = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }

        text = text.Trim();
        var unit = char.ToLowerInvariant(text[^1]);
        if (unit is 'm' or 'h' or 'd' && int.TryParse(text.AsSpan(0, text.Length - 1), out var n) && n > 0)
        {
            length = unit switch
            {
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                _ => TimeSpan.FromDays(n),
            };
        }
        else if (!TimeSpan.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out length))
        {
            return false;
        }

        return length >= Minimum && length <= Maximum;
    }

    public static string Format(TimeSpan length) =>
        length.TotalDays >= 1 && length.TotalDays % 1 == 0 ? $"{length.TotalDays:0}d"
        : length.TotalHours % 1 == 0 ? $"{length.TotalHours:0}h"
        : $"{length.TotalMinutes:0}m";
}

/// <summary>A half-open interval [Start, End) of one window.</summary>
public readonly record struct Window(DateTimeOffset Start, DateTimeOffset End)
{
    public bool Contains(DateTimeOffset instant) => instant >= Start && instant < End;

    public TimeSpan Remaining(DateTimeOffset now) => End > now ? End - now : TimeSpan.Zero;
}
