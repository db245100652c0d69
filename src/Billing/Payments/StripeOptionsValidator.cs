using Microsoft.Extensions.Options;

namespace Lanes.Billing.Payments;

public sealed class StripeOptionsValidator(Lanes.Shared.Plans.PlanCatalog plans) : IValidateOptions<StripeOptions>
{
    public ValidateOptionsResult Validate(string? name, StripeOptions o)
    {
        if (!o.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        var failures = new List<string>();
        if (string.IsNullOrWhiteSpace(o.WebhookSecret))
        {
            failures.Add("Stripe:WebhookSecret is required when Stripe:SecretKey is set (the signing secret of the webhook endpoint).");
        }

        foreach (var plan in plans.Tiers.Where(p => p.SelfServe))
        {
            if (!o.Prices.ContainsKey(plan.Id) && string.IsNullOrWhiteSpace(plan.StripePriceId))
            {
                failures.Add($"Stripe:Prices:{plan.Id} is required: the Stripe price id customers pay for the {plan.Name} plan.");
            }
        }

        if (o.ProcessingHold <= TimeSpan.Zero)
        {
            failures.Add("Stripe:ProcessingHold must be positive (for example 14.00:00:00).");
        }

        foreach (var (price, planId) in o.LegacyPrices)
        {
            if (plans.Find(planId) is null)
            {
                failures.Add($"Stripe:LegacyPrices:{price} names plan '{planId}', which is not in the catalog.");
            }
        }

        foreach (var (key, url) in new[] { ("SuccessUrl", o.SuccessUrl), ("CancelUrl", o.CancelUrl), ("PortalReturnUrl", o.PortalReturnUrl) })
        {
            if (!Uri.TryCreate(url, UriKind.Absolute, out _))
            {
                failures.Add($"Stripe:{key} must be an absolute URL.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
