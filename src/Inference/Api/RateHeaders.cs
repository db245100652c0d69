using System.Globalization;
using Lanes.Inference.Admission;

namespace Lanes.Inference.Api;

/// <summary>
/// Budget, window and lanes as headers on every response, success or refusal, so clients pace themselves. Most of
/// these values repeat from one request to the next (a key's limit and window end, small lane counts, the seconds
/// left in the window), so each is formatted once and reused while it stays the same: formatting a decimal or a date
/// costs more than the rest of the headers together.
/// </summary>
internal static class RateHeaders
{
    /// <summary>Counts small enough to be lanes or requests left, formatted at start.</summary>
    private static readonly string[] Small = [.. Enumerable.Range(0, 1024).Select(i => i.ToString(CultureInfo.InvariantCulture))];

    /// <summary>The last value of each header this thread wrote, with its text.</summary>
    [ThreadStatic]
    private static Last? _last;

    public static void Write(HttpResponse response, Standing s, DateTimeOffset now)
    {
        var last = _last ??= new Last();
        var h = response.Headers;
        h["x-ratelimit-limit-requests"] = Number(s.RequestLimit, ref last.RequestLimit);
        h["x-ratelimit-remaining-requests"] = Number(Math.Max(0, s.RequestLimit - s.RequestsUsed), ref last.RequestsLeft);
        h["x-ratelimit-reset-requests"] = last.Reset.Of((long)s.RequestWindow.Remaining(now).TotalMilliseconds, Duration);
        h["x-lanes-budget-limit-usd"] = last.BudgetLimit.Of(s.Budget.LimitUsd, Usd);
        h["x-lanes-budget-remaining-usd"] = last.BudgetLeft.Of(s.Budget.RemainingUsd, Usd);
        h["x-lanes-budget-resets-at"] = last.ResetsAt.Of(s.Budget.Window.End, t => t.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture));
        h["x-lanes-lanes-reserved"] = Number(s.Lanes.Reserved, ref last.Lanes);
        h["x-lanes-lanes-in-use"] = Number(s.Lanes.InUse, ref last.Lanes);
        h["x-lanes-lanes-borrowed"] = Number(s.Lanes.Borrowed, ref last.Lanes);
        h["x-lanes-lanes-queued"] = Number(s.Lanes.Queued, ref last.Lanes);
    }

    /// <summary>OpenAI's duration format for reset headers, such as "6h12m3s" or "850ms".</summary>
    internal static string Duration(long milliseconds)
    {
        var t = TimeSpan.FromMilliseconds(Math.Max(0, milliseconds));
        return t < TimeSpan.FromSeconds(1) ? $"{(int)t.TotalMilliseconds}ms"
            : t.TotalHours >= 1 ? $"{(int)t.TotalHours}h{t.Minutes}m{t.Seconds}s"
            : t.TotalMinutes >= 1 ? $"{t.Minutes}m{t.Seconds}s"
            : $"{t.Seconds}s";
    }

    private static string Usd(decimal value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    private static string Number(long value, ref Memo<long> memo) =>
        value is >= 0 and < 1024 ? Small[value] : memo.Of(value, v => v.ToString(CultureInfo.InvariantCulture));

    private sealed class Last
    {
        public Memo<long> RequestLimit;
        public Memo<long> RequestsLeft;
        public Memo<long> Lanes;
        public Memo<decimal> BudgetLimit;
        public Memo<decimal> BudgetLeft;
        public Memo<DateTimeOffset> ResetsAt;
        public ResetMemo Reset;
    }

    /// <summary>One value and its text: the text is made again only when the value changes.</summary>
    private struct Memo<T>
        where T : IEquatable<T>
    {
        private T _value;
        private string? _text;

        public string Of(T value, Func<T, string> format)
        {
            if (_text is null || !_value.Equals(value))
            {
                (_value, _text) = (value, format(value));
            }

            return _text;
        }
    }

    /// <summary>The reset duration, kept per whole second (the format shows milliseconds only below one second).</summary>
    private struct ResetMemo
    {
        private long _second;
        private string? _text;

        public string Of(long milliseconds, Func<long, string> format)
        {
            if (milliseconds < 1000)
            {
                return format(milliseconds);
            }

            var second = milliseconds / 1000;
            if (_text is null || _second != second)
            {
                (_second, _text) = (second, format(milliseconds));
            }

            return _text;
        }
    }
}
