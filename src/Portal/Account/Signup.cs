using System.Text;
using Lanes.Billing;
using Lanes.Billing.Stripe;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;

namespace Lanes.Portal.Account;

/// <summary>What signing up creates besides the user: the organisation, its first owner, and (in internal mode)
/// the trial subscription.</summary>
public sealed class Signup(TenantService tenants, SubscriptionService subscriptions, BillingModeInfo billing)
{
    public async Task<Tenant> CreateOrganisationAsync(LanesUser user, string organisation)
    {
        var baseSlug = SlugOf(organisation);
        Tenant? tenant = null;
        for (var attempt = 0; tenant is null; attempt++)
        {
            var slug = attempt == 0 ? baseSlug : $"{baseSlug[..Math.Min(baseSlug.Length, 33)]}-{Random.Shared.Next(1000, 9999)}";
            try
            {
                tenant = await tenants.CreateAsync(slug, organisation, user.Id, (user.Id, user.Email!));
            }
            catch (RuleViolation e) when (e.Code == "slug_taken" && attempt < 5)
            {
                // Another organisation has that name: try a numbered slug.
            }
        }

        if (billing.Mode == BillingMode.Internal)
        {
            await subscriptions.StartTrialAsync(tenant.Id, user.Id);
        }

        return tenant;
    }

    public static string SlugOf(string name)
    {
        var slug = new StringBuilder();
        foreach (var c in name.Trim().ToLowerInvariant())
        {
            if (char.IsAsciiLetterOrDigit(c))
            {
                slug.Append(c);
            }
            else if (slug.Length > 0 && slug[^1] != '-')
            {
                slug.Append('-');
            }
        }

        var text = slug.ToString().Trim('-');
        text = text.Length > 38 ? text[..38].Trim('-') : text;
        return text.Length == 0 ? "org" : text;
    }
}
