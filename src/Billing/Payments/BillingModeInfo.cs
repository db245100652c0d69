using Microsoft.Extensions.Options;

namespace Lanes.Billing.Payments;

public enum BillingMode
{
    /// <summary>No card payments: staff assign plans, signup starts a trial.</summary>
    Internal,

    /// <summary>Customers pay through Stripe.</summary>
    Stripe,
}

/// <summary>Which mode this deployment runs in, for the portal to show and to choose its flows.</summary>
public sealed class BillingModeInfo(IOptions<StripeOptions> options)
{
    public BillingMode Mode => options.Value.Enabled ? BillingMode.Stripe : BillingMode.Internal;

    /// <summary>True with Stripe test keys (sk_test_...), so the portal can say so.</summary>
    public bool IsTestMode => options.Value.SecretKey?.StartsWith("sk_test_", StringComparison.Ordinal) == true;
}
