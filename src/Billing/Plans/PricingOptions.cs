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
        new("lanes-demo", 0.10m, 0.40m, "Lanes default for the bundled demo model", new DateOnly(2026, 11, 1)),
        new("scripted", 0.10m, 0.40m, "Lanes default for the scripted test engine", new DateOnly(2026, 11, 1)),
    ];

    public PriceTable ToTable() => new(Models.Count == 0
        ? Defaults
        : Models.Select(m => new ModelPrice(m.Model, m.InputPerMillionUsd, m.OutputPerMillionUsd, m.Source, m.AsOf)));
}

public sealed class ModelPriceOptions
{
    public string Model { get; set; } = "";
    public decimal InputPerMillionUsd { get; set; }
    public decimal OutputPerMillionUsd { get; set; }
    public string Source { get; set; } = "";
    public DateOnly AsOf { get; set; }
}

public sealed class PricingOptionsValidator : IValidateOptions<PricingOptions>
{
    public ValidateOptionsResult Validate(string? name, PricingOptions options)
    {
        var failures = new List<string>();
        foreach (var m in options.Models)
        {
            if (string.IsNullOrWhiteSpace(m.Model))
            {
                failures.Add("Pricing:Models: every entry names its model.");
            }

            if (m.InputPerMillionUsd < 0 || m.OutputPerMillionUsd < 0)
            {
                failures.Add($"Pricing:Models[{m.Model}]: prices are not negative.");
            }

            if (string.IsNullOrWhiteSpace(m.Source) || m.AsOf == default)
            {
                failures.Add($"Pricing:Models[{m.Model}]: a price says where it comes from (Source) and when (AsOf).");
            }
        }

        failures.AddRange(options.Models.GroupBy(m => m.Model).Where(g => g.Count() > 1).Select(g => $"Pricing:Models: '{g.Key}' is priced twice."));
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
