using Lanes.Shared.Pricing;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Plans;

/// <summary>The model price table under <c>Pricing:Models</c>; empty means the shipped defaults.</summary>
public sealed class PricingOptions
{
    public const string Section = "Pricing";

    public List<ModelPriceOptions> Models { get; set; } = [];

    /// <summary>Shipped prices. The demo model has a nominal price so budgets and charts have something to count.</summary>
    public static IReadOnlyList<ModelPrice> Defaults { get; } =
    [
        new("lanes-demo", 0.10m, 0.40m, "Lanes default for the bundled demo model", new DateOnly(2026, 11, 1), CachedInputPerMillionUsd: 0.025m),
        new("scripted", 0.10m, 0.40m, "Lanes default for the scripted test engine", new DateOnly(2026, 11, 1), CachedInputPerMillionUsd: 0.025m),
    ];

    public PriceTable ToTable() => new(Models.Count == 0
        ? Defaults
        : Models.Select(m => new ModelPrice(m.Model, m.InputPerMillionUsd, m.OutputPerMillionUsd, m.Source, m.AsOf, m.CachedInputPerMillionUsd)));
}

