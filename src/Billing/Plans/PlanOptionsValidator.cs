using System.ComponentModel.DataAnnotations;
using Lanes.Shared.Plans;
using Lanes.Shared.Windows;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Plans;

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

            var slo = tier.Slo;
            if (!Validator.TryValidateObject(slo, new ValidationContext(slo), results = [], validateAllProperties: true))
            {
                failures.AddRange(results.Select(r => $"Plans:Tiers[{tier.Id}]:Slo: {r.ErrorMessage}"));
            }

            foreach (var credit in slo.Credits)
            {
                if (credit.BelowPercent is < 0 or > 100 || credit.CreditPercent is <= 0 or > 100)
                {
                    failures.Add($"Plans:Tiers[{tier.Id}]:Slo:Credits: a tier credits more than 0 and at most 100 % of the fee below a share from 0 to 100 % (got {credit.CreditPercent} % below {credit.BelowPercent} %).");
                }
            }

            if (slo.Credits.Count > 0 && slo.Credits.Max(c => c.BelowPercent) > slo.TargetPercent)
            {
                failures.Add($"Plans:Tiers[{tier.Id}]:Slo: no credit tier may start above the target of {slo.TargetPercent} % (a period that meets its objective earns nothing).");
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
