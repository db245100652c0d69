using Marten;
using global::Stripe;
using global::Stripe.BillingPortal;

namespace Lanes.Billing.Payments;

/// <summary>Where Lanes remembers the Stripe Customer Portal configuration it created (one per deployment).</summary>
public sealed record StripePortalConfiguration(string Id, string ConfigurationId, DateTimeOffset AppliedAt)
{
    public const string Key = "customer-portal";
}

/// <summary>
/// The Stripe Customer Portal as Lanes configures it, from code rather than the Dashboard default: customers update
/// payment methods and tax IDs, see every invoice, and cancel at the period end (with a reason). Plan changes are not
/// offered there: they go through Lanes, which checks capacity and schedules downgrades. Name, email and address
/// are edited on Lanes' billing page (which sends them to Stripe), so the two never disagree.
/// </summary>
public sealed partial class StripeBilling
{
    /// <summary>Creates the configuration the first time, and puts it back as the code says on every later call (the
    /// nightly reconciliation), so a Dashboard edit does not last. Returns its id.</summary>
    public async Task<string> ApplyPortalConfigurationAsync(CancellationToken ct = default)
    {
        StripePortalConfiguration? known;
        await using (var query = store.QuerySession())
        {
            known = await query.LoadAsync<StripePortalConfiguration>(StripePortalConfiguration.Key, ct);
        }

        string id;
        if (known is null)
        {
            var created = await stripe.V1.BillingPortal.Configurations.CreateAsync(new ConfigurationCreateOptions
            {
                Name = "Lanes",
                DefaultReturnUrl = _options.PortalReturnUrl,
                Features = PortalFeatures(),
                Metadata = new Dictionary<string, string> { ["managed_by"] = "lanes" },
            }, Idempotent("portal-configuration"), ct);
            id = created.Id;
        }
        else
        {
            await stripe.V1.BillingPortal.Configurations.UpdateAsync(known.ConfigurationId, new ConfigurationUpdateOptions
            {
                Active = true,
                DefaultReturnUrl = _options.PortalReturnUrl,
                Features = PortalFeatures(),
            }, cancellationToken: ct);
            id = known.ConfigurationId;
        }

        await using var session = store.LightweightSession();
        session.Store(new StripePortalConfiguration(StripePortalConfiguration.Key, id, clock.GetUtcNow()));
        await session.SaveChangesAsync(ct);
        return id;
    }

    private async Task<string> PortalConfigurationIdAsync(CancellationToken ct)
    {
        await using (var query = store.QuerySession())
        {
            if (await query.LoadAsync<StripePortalConfiguration>(StripePortalConfiguration.Key, ct) is { } known)
            {
                return known.ConfigurationId;
            }
        }

        return await ApplyPortalConfigurationAsync(ct);
    }

    private static ConfigurationFeaturesOptions PortalFeatures() => new()
    {
        PaymentMethodUpdate = new ConfigurationFeaturesPaymentMethodUpdateOptions { Enabled = true },
        InvoiceHistory = new ConfigurationFeaturesInvoiceHistoryOptions { Enabled = true },
        CustomerUpdate = new ConfigurationFeaturesCustomerUpdateOptions { Enabled = true, AllowedUpdates = ["tax_id"] },
        SubscriptionCancel = new ConfigurationFeaturesSubscriptionCancelOptions
        {
            Enabled = true,
            Mode = "at_period_end",
            CancellationReason = new ConfigurationFeaturesSubscriptionCancelCancellationReasonOptions
            {
                Enabled = true,
                Options = ["too_expensive", "missing_features", "switched_service", "unused", "customer_service", "too_complex", "low_quality", "other"],
            },
        },
        SubscriptionUpdate = new ConfigurationFeaturesSubscriptionUpdateOptions { Enabled = false },
    };
}
