using Lanes.Shared.Money;

namespace Lanes.Shared.Tests.Money;

public class MinorUnitsTests
{
    [Theory]
    [InlineData(5000L, "usd", "USD 50.00")]
    [InlineData(123456789L, "USD", "USD 1,234,567.89")]
    [InlineData(5L, "eur", "EUR 0.05")]
    [InlineData(0L, "gbp", "GBP 0.00")]
    public void Two_decimal_currencies_show_cents(long amount, string currency, string shown)
    {
        Assert.Equal(shown, MinorUnits.Format(amount, currency));
    }

    [Theory]
    [InlineData(5000L, "jpy", "JPY 5,000")]
    [InlineData(150000L, "KRW", "KRW 150,000")]
    [InlineData(1L, "xof", "XOF 1")]
    public void Zero_decimal_currencies_are_counted_in_whole_units_not_divided_by_100(long amount, string currency, string shown)
    {
        Assert.Equal(shown, MinorUnits.Format(amount, currency));
        Assert.Equal(amount, MinorUnits.ToDecimal(amount, currency));
    }

    [Theory]
    [InlineData(1500L, "kwd", "KWD 1.500", 1.5)]
    [InlineData(1234567L, "BHD", "BHD 1,234.567", 1234.567)]
    [InlineData(5L, "tnd", "TND 0.005", 0.005)]
    public void Three_decimal_currencies_show_thousandths(long amount, string currency, string shown, double value)
    {
        Assert.Equal(shown, MinorUnits.Format(amount, currency));
        Assert.Equal((decimal)value, MinorUnits.ToDecimal(amount, currency));
    }

    [Theory]
    [InlineData(-500L, "usd", "-USD 5.00", -5.0)]
    [InlineData(-5000L, "jpy", "-JPY 5,000", -5000.0)]
    [InlineData(-1L, "kwd", "-KWD 0.001", -0.001)]
    public void A_credit_is_shown_with_a_leading_minus_before_the_code(long amount, string currency, string shown, double value)
    {
        Assert.Equal(shown, MinorUnits.Format(amount, currency));
        Assert.Equal((decimal)value, MinorUnits.ToDecimal(amount, currency));
    }

    [Fact]
    public void The_extremes_of_a_stripe_amount_format_without_overflow()
    {
        Assert.Equal("-USD 92,233,720,368,547,758.08", MinorUnits.Format(long.MinValue, "usd"));
        Assert.Equal("JPY 9,223,372,036,854,775,807", MinorUnits.Format(long.MaxValue, "jpy"));
    }

    [Theory]
    [InlineData("")]
    [InlineData("us")]
    [InlineData("usdx")]
    [InlineData("u$d")]
    public void Something_that_is_not_a_currency_code_is_an_error_not_a_guess(string currency)
    {
        Assert.Throws<ArgumentException>(() => MinorUnits.Format(100, currency));
    }
}
