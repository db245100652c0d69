using Lanes.Shared.Pricing;

namespace Lanes.Shared.Comparison;

/// <summary>
/// Other providers' per-token list prices, which people compare a flat plan with (never used to price Lanes' own
/// models: that is <see cref="PriceTable"/>). Read by hand from each provider's public
/// pricing page on the date given; they change, so the calculator shows the date and the source next to each figure.
/// </summary>
public static class PublishedPrices
{
    public static readonly DateOnly ReadOn = new(2025, 1, 15);

    public static IReadOnlyList<ModelPrice> Published { get; } =
    [
        new("OpenAI GPT-4o", 2.50m, 10.00m, "https://openai.com/api/pricing", ReadOn),
        new("OpenAI GPT-4o mini", 0.15m, 0.60m, "https://openai.com/api/pricing", ReadOn),
        new("Anthropic Claude 3.5 Sonnet", 3.00m, 15.00m, "https://www.anthropic.com/pricing", ReadOn),
        new("Anthropic Claude 3.5 Haiku", 0.80m, 4.00m, "https://www.anthropic.com/pricing", ReadOn),
        new("Together Llama 3.1 70B Instruct Turbo", 0.88m, 0.88m, "https://www.together.ai/pricing", ReadOn),
        new("Together Llama 3.1 8B Instruct Turbo", 0.18m, 0.18m, "https://www.together.ai/pricing", ReadOn),
    ];
}
