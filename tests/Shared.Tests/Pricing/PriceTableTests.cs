using Lanes.Shared.Pricing;

namespace Lanes.Shared.Tests.Pricing;

public class PriceTableTests
{
    private static readonly PriceTable Table = new([new ModelPrice("m", 0.50m, 1.50m, "test", new DateOnly(2026, 11, 1))]);

    [Fact]
    public void Spend_is_tokens_times_the_price_per_million()
    {
        Assert.Equal(0.5m + 3m, Table.Spend("m", 1_000_000, 2_000_000));
        Assert.Equal(0.0000005m * 10 + 0.0000015m * 20, Table.Spend("m", 10, 20));
    }

    [Fact]
    public void Cached_prompt_tokens_cost_the_cached_input_rate_or_the_input_rate_when_the_list_has_none()
    {
        var discounted = new ModelPrice("m", 0.50m, 1.50m, "test", new DateOnly(2026, 11, 1), CachedInputPerMillionUsd: 0.05m);

        Assert.Equal(0.5m * 0.4m + 0.05m * 0.6m + 1.5m, PriceTable.Spend(discounted, 1_000_000, 600_000, 1_000_000));
        Assert.Equal(0.5m + 1.5m, PriceTable.Spend(Table.Find("m")!, 1_000_000, 600_000, 1_000_000));
        // More cached than sent is a miscount, never a credit.
        Assert.Equal(0.05m, PriceTable.Spend(discounted, 1_000_000, 5_000_000, 0));
    }

    [Fact]
    public void An_unpriced_model_is_an_error_not_free()
    {
        var error = Assert.Throws<KeyNotFoundException>(() => Table.Spend("other", 1, 1));
        Assert.Contains("other", error.Message);
    }
}
