namespace Lanes.Inference.Engine.Torch.Constraints;

/// <summary>
/// The JSON rules every grammar shares (so their masks are computed once per vocabulary): numbers, literals and
/// any JSON value. Whitespace between tokens is at most one optional space after <c>{ [ , :</c> and before
/// <c>} ]</c>; numbers have at most 15 integer digits, 6 fraction digits and a 1-digit exponent, so every value
/// the automaton allows can be finished, and every number fits a .NET decimal (a client reading 1e99 into one fails).
/// </summary>
internal static class JsonRules
{
    public const int MaxIntegerDigits = 15, MaxFractionDigits = 6, MaxExponentDigits = 1;

    public static readonly Rule String = JsonStrings.Any;
    public static readonly Rule Integer = BuildNumber("integer", fraction: false);
    public static readonly Rule Number = BuildNumber("number", fraction: true);
    public static readonly Rule Boolean = Literals("boolean", ["true", "false"]);
    public static readonly Rule Null = Literals("null", ["null"]);
    public static readonly Rule AnyValue = new("value");
    public static readonly Rule AnyObject = new("object");
    public static readonly Rule AnyArray = new("array");

    static JsonRules()
    {
        Map(AnyObject, AnyValue);
        List(AnyArray, AnyValue, 0, null);
        var value = new RuleBuilder();
        foreach (var rule in new[] { String, Number, AnyObject, AnyArray, Boolean, Null })
        {
            value.Call(value.Start, rule, value.Accept);
        }

        value.Define(AnyValue);
    }

    /// <summary>Defines <paramref name="rule"/> as exactly one of the given byte strings (enum, const).</summary>
    public static Rule Literals(Rule rule, IEnumerable<byte[]> alternatives)
    {
        var b = new RuleBuilder();
        foreach (var bytes in alternatives)
        {
            b.Empty(b.Literal(b.Start, bytes), b.Accept);
        }

        return b.Define(rule);
    }

    private static Rule Literals(string name, IEnumerable<string> alternatives) =>
        Literals(new Rule(name), alternatives.Select(System.Text.Encoding.UTF8.GetBytes));

    /// <summary>Defines <paramref name="rule"/> as an object with any keys and values of <paramref name="value"/>.</summary>
    public static Rule Map(Rule rule, Rule value)
    {
        var b = new RuleBuilder();
        var open = b.Space(b.Literal(b.Start, "{"));
        b.Byte(open, '}', b.Accept);
        var key = b.State();
        b.Call(open, String, key);
        var afterValue = b.CallFrom(b.Space(b.Literal(key, ":")), value);
        b.Call(b.Space(b.Literal(afterValue, ",")), String, key);
        b.Byte(b.Space(afterValue), '}', b.Accept);
        return b.Define(rule);
    }

    /// <summary>Defines <paramref name="rule"/> as an array of <paramref name="min"/> to <paramref name="max"/>
    /// items of <paramref name="item"/> (counts are unrolled into nodes, so the bounds must be small).</summary>
    public static Rule List(Rule rule, Rule item, int min, int? max)
    {
        var b = new RuleBuilder();
        var open = b.Space(b.Literal(b.Start, "["));
        if (min == 0)
        {
            b.Byte(open, ']', b.Accept);
        }

        if (max is not 0)
        {
            // after[k]: just read item k (1-based). Without a maximum the last unrolled count loops.
            var unrolled = Math.Max(1, max ?? Math.Max(min, 1));
            var after = new int[unrolled + 1];
            for (var k = 1; k <= unrolled; k++)
            {
                after[k] = b.State();
            }

            b.Call(open, item, after[1]);
            for (var k = 1; k <= unrolled; k++)
            {
                if (k < unrolled)
                {
                    b.Call(b.Space(b.Literal(after[k], ",")), item, after[k + 1]);
                }
                else if (max is null)
                {
                    b.Call(b.Space(b.Literal(after[k], ",")), item, after[k]);
                }

                if (k >= min)
                {
                    b.Byte(b.Space(after[k]), ']', b.Accept);
                }
            }
        }

        return b.Define(rule);
    }

    private static Rule BuildNumber(string name, bool fraction)
    {
        var b = new RuleBuilder();
        var sign = b.State();
        b.Empty(b.Start, sign);
        b.Byte(b.Start, '-', sign);
        var integer = b.State();
        b.Byte(sign, '0', integer);
        var digit = b.State();
        b.Byte(sign, (byte)'1', (byte)'9', digit);
        b.Empty(digit, integer);
        for (var d = 2; d <= MaxIntegerDigits; d++)
        {
            var next = b.State();
            b.Byte(digit, (byte)'0', (byte)'9', next);
            b.Empty(next, integer);
            digit = next;
        }

        if (!fraction)
        {
            b.Empty(integer, b.Accept);
            return b.Build(name);
        }

        var real = b.State();
        b.Empty(integer, real);
        var point = b.Literal(integer, ".");
        for (var d = 1; d <= MaxFractionDigits; d++)
        {
            var next = b.State();
            b.Byte(point, (byte)'0', (byte)'9', next);
            b.Empty(next, real);
            point = next;
        }

        b.Empty(real, b.Accept);
        var e = b.State();
        b.Byte(real, 'e', e);
        b.Byte(real, 'E', e);
        var exponent = b.State();
        b.Empty(e, exponent);
        b.Byte(e, '+', exponent);
        b.Byte(e, '-', exponent);
        for (var d = 1; d <= MaxExponentDigits; d++)
        {
            var next = b.State();
            b.Byte(exponent, (byte)'0', (byte)'9', next);
            b.Empty(next, b.Accept);
            exponent = next;
        }

        return b.Build(name);
    }
}
