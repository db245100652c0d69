using System.Globalization;

namespace Lanes.Shared.Money;

/// <summary>
/// Amounts as Stripe gives them: an integer count of the currency's smallest unit (cents for USD, yen for JPY, fils
/// for KWD) and a three-letter ISO 4217 code. Note: dividing by 100 is wrong for every zero- and three-decimal
/// currency (¥5,000 is 5000, not 50.00), so every amount shown or mailed goes through here.
/// </summary>
public static class MinorUnits
{
    // Stripe's lists (docs.stripe.com/currencies#zero-decimal, #three-decimal); every other currency has two decimals.
    private static readonly HashSet<string> ZeroDecimal =
        ["BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX", "VND", "VUV", "XAF", "XOF", "XPF"];

    private static readonly HashSet<string> ThreeDecimal = ["BHD", "JOD", "KWD", "OMR", "TND"];

    /// <summary>How many decimals the currency's smallest unit has in Stripe's API (0, 2 or 3).</summary>
    public static int DecimalsOf(string currency)
    {
        var code = CodeOf(currency);
        return ZeroDecimal.Contains(code) ? 0 : ThreeDecimal.Contains(code) ? 3 : 2;
    }

    /// <summary>The amount in the currency's main unit: 5000 JPY is 5000, 5000 USD cents is 50.00, 1500 KWD fils is 1.500.</summary>
    public static decimal ToDecimal(long amount, string currency) => (decimal)amount / Pow10(DecimalsOf(currency));

    /// <summary>
    /// One readable form for every currency: the ISO code, then the amount with the currency's own decimals and
    /// thousands separators, a credit with a leading minus ("USD 50.00", "JPY 5,000", "KWD 1.500", "-USD 5.00").
    /// The code rather than a symbol: "$" is also CAD, AUD and a dozen others, and an invoice must not be ambiguous.
    /// </summary>
    public static string Format(long amount, string currency)
    {
        var code = CodeOf(currency);
        var value = Math.Abs(ToDecimal(amount, code));
        var number = value.ToString("N" + DecimalsOf(code).ToString(CultureInfo.InvariantCulture), CultureInfo.InvariantCulture);
        return $"{(amount < 0 ? "-" : "")}{code} {number}";
    }

    private static string CodeOf(string currency)
    {
        ArgumentNullException.ThrowIfNull(currency);
        var code = currency.Trim().ToUpperInvariant();
        return code.Length == 3 && code.All(char.IsAsciiLetterUpper)
            ? code
            : throw new ArgumentException($"'{currency}' is not an ISO 4217 currency code (three letters).", nameof(currency));
    }

    private static decimal Pow10(int decimals) => decimals switch { 0 => 1m, 2 => 100m, _ => 1000m };
}
