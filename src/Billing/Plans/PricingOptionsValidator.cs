using Microsoft.Extensions.Options;

namespace Lanes.Billing.Plans;

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

            if (m.CachedInputPerMillionUsd is { } cached && (cached < 0 || cached > m.InputPerMillionUsd))
            {
                failures.Add($"Pricing:Models[{m.Model}]: the cached input price is between 0 and the input price.");
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
