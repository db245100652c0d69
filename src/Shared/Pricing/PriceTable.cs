namespace Lanes.Shared.Pricing;

/// <summary>Turns token counts into spend (USD at list prices). Spend is never charged; it is counted
/// against budgets and shown as a "per-token equivalent".</summary>
public sealed class PriceTable
{
    private readonly Dictionary<string, ModelPrice> _byModel;

    public PriceTable(IEnumerable<ModelPrice> prices)
    {
        _byModel = prices.ToDictionary(p => p.Model, StringComparer.Ordinal);
    }

    public IReadOnlyCollection<ModelPrice> Prices => _byModel.Values;

    public ModelPrice? Find(string model) => _byModel.GetValueOrDefault(model);

    public bool Knows(string model) => _byModel.ContainsKey(model);

    public decimal Spend(string model, long inputTokens, long outputTokens)
    {
        var price = _byModel.TryGetValue(model, out var p)
            ? p
            : throw new KeyNotFoundException($"Model '{model}' has no price in the price table.");
        return Spend(price, inputTokens, outputTokens);
    }

    public static decimal Spend(ModelPrice price, long inputTokens, long outputTokens) => Spend(price, inputTokens, 0, outputTokens);

    /// <summary>Spend with <paramref name="cachedInputTokens"/> of the input served from a prefix cache, at its rate.</summary>
    public static decimal Spend(ModelPrice price, long inputTokens, long cachedInputTokens, long outputTokens)
    {
        var cached = Math.Clamp(cachedInputTokens, 0, inputTokens);
        return ((inputTokens - cached) * price.InputPerMillionUsd + cached * price.CachedInputRate + outputTokens * price.OutputPerMillionUsd) / 1_000_000m;
    }
}
