using System.Globalization;

namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// Numbers with bounds (minimum, maximum, exclusive or not) as digit automata: the integer part is compared digit by
/// digit against the bounds, and only a number whose integer part equals a bound has its fraction constrained
/// (zero or non-zero). Bounded numbers are written without an exponent, with at most
/// <see cref="JsonRules.MaxIntegerDigits"/> integer and <see cref="JsonRules.MaxFractionDigits"/> fraction digits.
/// </summary>
internal static class JsonNumbers
{
    private static readonly decimal Largest = decimal.Parse(new string('9', JsonRules.MaxIntegerDigits), CultureInfo.InvariantCulture);

    /// <summary>One bound: the value, and whether the bound itself is excluded.</summary>
    public readonly record struct Bound(decimal Value, bool Exclusive);

    /// <summary>The rule for integers or numbers within the bounds, or null if no value that can be written fits.</summary>
    public static Rule? Within(string name, bool integer, Bound? lower, Bound? upper)
    {
        if (integer)
        {
            // Integers only: make both bounds inclusive and whole.
            lower = lower is { } l ? new Bound(l.Exclusive ? decimal.Floor(l.Value) + 1 : decimal.Ceiling(l.Value), false) : null;
            upper = upper is { } u ? new Bound(u.Exclusive ? decimal.Ceiling(u.Value) - 1 : decimal.Floor(u.Value), false) : null;
        }

        var b = new RuleBuilder();
        var any = false;
        // Non-negative values: the magnitude is the value.
        if (upper is not { Value: < 0 } && !(upper is { Value: 0, Exclusive: true }))
        {
            var low = lower is { Value: >= 0 } l ? l : new Bound(0, false);
            any |= Magnitudes(b, b.Start, integer, low, upper ?? new Bound(Largest, false));
        }

        // Negative values, after '-': the magnitude m = -value, so value >= lower is m <= -lower and so on.
        if (lower is not { Value: >= 0 })
        {
            var minus = b.State();
            b.Byte(b.Start, '-', minus);
            // A magnitude of 0 after '-' would be "-0", which is 0: left to the non-negative side.
            var low = upper is { Value: < 0 } u ? new Bound(-u.Value, u.Exclusive) : new Bound(0, true);
            any |= Magnitudes(b, minus, integer, low, lower is { } l ? new Bound(-l.Value, l.Exclusive) : new Bound(Largest, false));
        }

        return any ? b.Build(name) : null;
    }

    /// <summary>
    /// Paths from <paramref name="from"/> to the builder's accept state spelling a magnitude m (integer part, then
    /// a fraction unless <paramref name="integer"/>) with low &lt;(=) m &lt;(=) high. False if none exists.
    /// </summary>
    private static bool Magnitudes(RuleBuilder b, int from, bool integer, Bound low, Bound high)
    {
        // Only whole bounds are compiled here (the schema compiler refuses others for numbers); clamp to what fits.
        var lo = decimal.Max(0, low.Value);
        var hi = decimal.Min(Largest, high.Value);
        var loExclusive = low.Exclusive && low.Value >= 0;
        var hiExclusive = high.Exclusive && high.Value <= Largest;
        if (lo > hi)
        {
            return false;
        }

        if (integer)
        {
            lo += loExclusive ? 1 : 0;
            hi -= hiExclusive ? 1 : 0;
            if (lo > hi)
            {
                return false;
            }

            IntegerPart(b, from, b.Accept, lo, hi);
            return true;
        }

        // The integer part p: strictly between the bounds any fraction goes; at the lower bound an exclusive bound
        // needs a non-zero fraction; at the upper bound only a zero fraction stays within an inclusive bound.
        var added = false;
        void Part(decimal first, decimal last, Fraction fraction)
        {
            if (first <= last)
            {
                var afterInteger = b.State();
                IntegerPart(b, from, afterInteger, first, last);
                FractionOf(b, afterInteger, fraction);
                added = true;
            }
        }

        if (lo == hi)
        {
            if (!loExclusive && !hiExclusive)
            {
                Part(lo, lo, Fraction.Zero);
            }

            return added;
        }

        Part(lo, lo, loExclusive ? Fraction.NonZero : Fraction.Any);
        Part(lo + 1, hi - 1, Fraction.Any);
        if (!hiExclusive)
        {
            Part(hi, hi, Fraction.Zero);
        }

        return added;
    }

    private enum Fraction { Any, Zero, NonZero }

    private static void FractionOf(RuleBuilder b, int from, Fraction kind)
    {
        if (kind != Fraction.NonZero)
        {
            b.Empty(from, b.Accept);
        }

        var point = b.Literal(from, ".");
        // State (digits read, a non-zero digit seen?).
        var zeros = point;
        var nonZero = -1;
        for (var d = 1; d <= JsonRules.MaxFractionDigits; d++)
        {
            var nextZeros = b.State();
            b.Byte(zeros, '0', nextZeros);
            var nextNonZero = kind == Fraction.Zero ? -1 : b.State();
            if (nextNonZero >= 0)
            {
                b.Byte(zeros, (byte)'1', (byte)'9', nextNonZero);
                if (nonZero >= 0)
                {
                    b.Byte(nonZero, (byte)'0', (byte)'9', nextNonZero);
                }

                b.Empty(nextNonZero, b.Accept);
            }

            if (kind != Fraction.NonZero)
            {
                b.Empty(nextZeros, b.Accept);
            }

            (zeros, nonZero) = (nextZeros, nextNonZero);
        }
    }

    /// <summary>The decimal integers in [lo, hi] (no leading zeros), from <paramref name="from"/> to <paramref name="to"/>.</summary>
    private static void IntegerPart(RuleBuilder b, int from, int to, decimal lo, decimal hi)
    {
        var low = lo.ToString(CultureInfo.InvariantCulture);
        var high = hi.ToString(CultureInfo.InvariantCulture);
        for (var length = low.Length; length <= high.Length; length++)
        {
            var first = length == low.Length ? low : "1" + new string('0', length - 1);
            var last = length == high.Length ? high : new string('9', length);
            SameLength(b, from, to, first, last);
        }
    }

    /// <summary>The digit strings from <paramref name="lo"/> to <paramref name="hi"/>, both of one length.</summary>
    private static void SameLength(RuleBuilder b, int from, int to, string lo, string hi)
    {
        if (lo.Length == 0)
        {
            b.Empty(from, to);
            return;
        }

        if (lo.All(c => c == '0') && hi.All(c => c == '9'))
        {
            for (var i = 0; i < lo.Length; i++)
            {
                var next = i == lo.Length - 1 ? to : b.State();
                b.Byte(from, (byte)'0', (byte)'9', next);
                from = next;
            }

            return;
        }

        if (lo[0] == hi[0])
        {
            var next = b.State();
            b.Byte(from, lo[0], next);
            SameLength(b, next, to, lo[1..], hi[1..]);
            return;
        }

        var afterLow = b.State();
        b.Byte(from, lo[0], afterLow);
        SameLength(b, afterLow, to, lo[1..], new string('9', lo.Length - 1));
        if (lo[0] + 1 <= hi[0] - 1)
        {
            var between = b.State();
            b.Byte(from, (byte)(lo[0] + 1), (byte)(hi[0] - 1), between);
            SameLength(b, between, to, new string('0', lo.Length - 1), new string('9', lo.Length - 1));
        }

        var afterHigh = b.State();
        b.Byte(from, hi[0], afterHigh);
        SameLength(b, afterHigh, to, new string('0', lo.Length - 1), hi[1..]);
    }
}
