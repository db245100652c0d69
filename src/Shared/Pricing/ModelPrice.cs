namespace Lanes.Shared.Pricing;

/// <summary>List price of one model in USD per million tokens, with where and when it was read.</summary>
public sealed record ModelPrice(
    string Model,
    decimal InputPerMillionUsd,
    decimal OutputPerMillionUsd,
    string Source,
    DateOnly AsOf);
