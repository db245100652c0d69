namespace Lanes.Shared.Pricing;

/// <summary>List price of one model in USD per million tokens, with where and when it was read. Prompt tokens served
/// from a prefix cache are priced at <see cref="CachedInputPerMillionUsd"/> (the input price when the list has none).</summary>
public sealed record ModelPrice(
    string Model,
    decimal InputPerMillionUsd,
    decimal OutputPerMillionUsd,
    string Source,
    DateOnly AsOf,
    decimal? CachedInputPerMillionUsd = null)
{
    public decimal CachedInputRate => CachedInputPerMillionUsd ?? InputPerMillionUsd;
}
