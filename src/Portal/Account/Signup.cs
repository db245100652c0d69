using System.Text;
using Lanes.Billing;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;

namespace Lanes.Portal.Account;

/// <summary>What signing up creates besides the user: the organisation and its first owner; and, once the owner has
/// confirmed their email, in internal mode, the free trial.</summary>
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

        return tenant;
    }

    /// <summary>Starts the free trial of every organisation the user owns that never had a subscription. Note: only
    /// confirmed owners get lanes, so scripted sign-ups with made-up addresses hold nothing; and trials draw from
    /// the trial pool, so even confirmed ones can never take paid capacity.</summary>
    /// <returns>What happened, in words for the person who just confirmed.</returns>
    public async Task<TrialOutcome> StartTrialsAsync(LanesUser user, CancellationToken ct = default)
    {
        if (billing.Mode != BillingMode.Internal || !user.EmailConfirmed)
        {
            return TrialOutcome.NotOffered;
        }

        var outcome = TrialOutcome.NotOffered;
        foreach (var (tenant, role) in await tenants.MembershipsOfAsync(user.Id, ct))
        {
            if (role != MemberRole.Owner || await subscriptions.FindAsync(tenant.Id, ct) is not null)
            {
                continue;
            }

            try
            {
                await subscriptions.StartTrialAsync(tenant.Id, user.Id, ct);
                outcome = TrialOutcome.Started;
            }
            catch (RuleViolation e) when (e.Code is "trials_full" or "trial_used")
            {
                outcome = e.Code == "trials_full" ? TrialOutcome.PoolFull : outcome;
            }
        }

        return outcome;
    }

    public enum TrialOutcome
    {
        NotOffered,
        Started,
        PoolFull,
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
