using Microsoft.Extensions.Options;

namespace Lanes.Billing.Payments;

/// <summary>
/// Stripe (<c>Stripe</c> section). With no <see cref="SecretKey"/> Lanes runs in internal mode: staff assign plans and
/// signup starts a trial. Note: the secret key and the webhook signing secret are secrets; bind them from the
/// environment (<c>Stripe__SecretKey</c>), never commit them.
/// </summary>
public sealed class StripeOptions
{
    public const string Section = "Stripe";

    public string? SecretKey { get; set; }

    public string? WebhookSecret { get; set; }

    /// <summary>Stripe price id per plan id; a plan's own <c>StripePriceId</c> is used when it is not listed here.</summary>
    public Dictionary<string, string> Prices { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Prices a plan was sold at before (price id → plan id): their subscribers keep their price
    /// (grandfathered) and Lanes keeps serving them the plan's lanes; only new checkouts use <see cref="Prices"/>.</summary>
    public Dictionary<string, string> LegacyPrices { get; set; } = new(StringComparer.Ordinal);

    public string SuccessUrl { get; set; } = "http://127.0.0.1:5080/billing?checkout=success";

    public string CancelUrl { get; set; } = "http://127.0.0.1:5080/billing?checkout=cancelled";

    public string PortalReturnUrl { get; set; } = "http://127.0.0.1:5080/billing";

    /// <summary>Stripe Tax at Checkout: taxes calculated from the customer's address (collected), and tax IDs
    /// collected from business buyers. Turn on once Stripe Tax is set up in the Dashboard (origin address,
    /// registrations) and the prices have a tax behaviour.</summary>
    public bool AutomaticTax { get; set; }

    /// <summary>How long lanes stay set aside for a checkout paid by a method that settles later (a bank debit)
    /// while the payment processes; Stripe says when it succeeds or fails, this only bounds a lost webhook.</summary>
    public TimeSpan ProcessingHold { get; set; } = TimeSpan.FromDays(14);

    /// <summary>How old a webhook signature may be.</summary>
    public TimeSpan WebhookTolerance { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Another API host (tests point this at a local replay of Stripe's documented responses).</summary>
    public string? ApiBase { get; set; }

    public int MaxNetworkRetries { get; set; } = 2;

    public bool Enabled => !string.IsNullOrWhiteSpace(SecretKey);
}

