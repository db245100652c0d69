using System.ComponentModel.DataAnnotations;
using Lanes.Shared.Plans;
using Lanes.Shared.Windows;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Plans;

/// <summary>The plan catalog as operators configure it under <c>Plans:Tiers</c>; empty means the shipped defaults.</summary>
public sealed class PlanOptions
{
    public const string Section = "Plans";

    public List<PlanTierOptions> Tiers { get; set; } = [];

    public PlanCatalog ToCatalog() => Tiers.Count == 0
        ? new PlanCatalog(PlanCatalog.Defaults)
        : new PlanCatalog(Tiers.Select(t => t.ToTier()));
}

public sealed class PlanTierOptions
{
    [Required, RegularExpression("^[a-z0-9-]{1,40}$")]
    public string Id { get; set; } = "";

    [Required]
    public string Name { get; set; } = "";

    [Range(0, 1_000_000)]
    public decimal MonthlyPriceUsd { get; set; }

    [Range(0, 100_000)]
    public int ReservedLanes { get; set; }

    [Range(1, int.MaxValue)]
    public int RequestsPerWindow { get; set; }

    [Range(0, 1_000_000)]
    public decimal DefaultKeyBudgetUsd { get; set; }

    public string Window { get; set; } = "8h";

    public List<string> Models { get; set; } = [];

    public string? StripePriceId { get; set; }

    public bool SelfServe { get; set; } = true;

    /// <summary>The model pool the plan's lanes are sold from: the gateways configured with the same
    /// <c>Gateway:Pool</c>, which must serve the plan's models.</summary>
    public string Pool { get; set; } = ModelPools.Default;

    public PlanTier ToTier()
    {
        WindowSchedule.TryParseLength(Window, out var window);
        return new PlanTier(Id, Name, MonthlyPriceUsd, ReservedLanes, RequestsPerWindow, DefaultKeyBudgetUsd, window, Models, StripePriceId, SelfServe, Pool);
    }
}

/// <summary>Rules data annotations cannot express: unique ids and readable windows.</summary>
public sealed class PlanOptionsValidator : IValidateOptions<PlanOptions>
{
    public ValidateOptionsResult Validate(string? name, PlanOptions options)
    {
        var failures = new List<string>();
        foreach (var tier in options.Tiers)
        {
            var context = new ValidationContext(tier);
            var results = new List<ValidationResult>();
            if (!Validator.TryValidateObject(tier, context, results, validateAllProperties: true))
            {
                failures.AddRange(results.Select(r => $"Plans:Tiers[{tier.Id}]: {r.ErrorMessage}"));
            }

            if (!ModelPools.IsValidId(tier.Pool))
            {
                failures.Add($"Plans:Tiers[{tier.Id}]: pool '{tier.Pool}' is not a pool id (lower-case letters, digits, dots and dashes, such as 'qwen-7b').");
            }

            if (!WindowSchedule.TryParseLength(tier.Window, out _))
            {
                failures.Add($"Plans:Tiers[{tier.Id}]: window '{tier.Window}' is not a length such as 8h, 30m or 1d.");
            }
        }

        failures.AddRange(options.Tiers.GroupBy(t => t.Id, StringComparer.OrdinalIgnoreCase)
            .Where(g => g.Count() > 1)
            .Select(g => $"Plans:Tiers: id '{g.Key}' appears {g.Count()} times."));

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
