namespace Lanes.Billing.Subscriptions;

/// <summary>Internal mode (no Stripe secret configured): plans are assigned by staff, and self-serve signup starts a
/// trial (<c>InternalBilling</c> section).</summary>
public sealed class InternalBillingOptions
{
    public const string Section = "InternalBilling";

    public string TrialPlan { get; set; } = "starter";

    public TimeSpan TrialLength { get; set; } = TimeSpan.FromDays(14);
}
