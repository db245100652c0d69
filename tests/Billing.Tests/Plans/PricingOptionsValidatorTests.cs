using Lanes.Billing.Plans;

namespace Lanes.Billing.Tests.Plans;

/// <summary>A price table an operator configures: refused at start when it could not price a request honestly.</summary>
public class PricingOptionsValidatorTests
{
    private static ModelPriceOptions Price(string model, decimal input = 0.1m, string source = "our list", DateOnly? asOf = null) =>
        new() { Model = model, InputPerMillionUsd = input, OutputPerMillionUsd = 0.4m, Source = source, AsOf = asOf ?? new DateOnly(2026, 11, 1) };

    [Fact]
    public void A_table_of_sourced_dated_prices_one_per_model_is_accepted() =>
        Assert.True(Validate(Price("a"), Price("b")).Succeeded);

    [Fact]
    public void A_negative_price_an_unsourced_or_undated_price_and_a_model_priced_twice_are_each_named()
    {
        var result = Validate(Price("neg", input: -1m), Price("nosource", source: " "), Price("undated", asOf: default(DateOnly)), Price("twice"), Price("twice"));

        Assert.True(result.Failed);
        Assert.Contains(result.Failures!, f => f.Contains("[neg]", StringComparison.Ordinal) && f.Contains("negative", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("[nosource]", StringComparison.Ordinal) && f.Contains("Source", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("[undated]", StringComparison.Ordinal) && f.Contains("AsOf", StringComparison.Ordinal));
        Assert.Contains(result.Failures!, f => f.Contains("'twice' is priced twice", StringComparison.Ordinal));
    }

    private static Microsoft.Extensions.Options.ValidateOptionsResult Validate(params ModelPriceOptions[] models) =>
        new PricingOptionsValidator().Validate(null, new PricingOptions { Models = [.. models] });
}
