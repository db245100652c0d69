namespace Lanes.Billing.Stripe;

/// <summary>What Lanes needs to know of a Stripe subscription, read fresh from Stripe before acting on any webhook.</summary>
public sealed record StripeView(
    string SubscriptionId,
    string CustomerId,
    string Status,
    string? PriceId,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    bool CancelAtPeriodEnd,
    Guid? TenantId);
