namespace Lanes.Billing.Payments;

/// <summary>What Lanes needs to know of a Stripe subscription, read fresh from Stripe before acting on any webhook.</summary>
public sealed record StripeView(
    string SubscriptionId,
    string CustomerId,
    string Status,
    string? PriceId,
    DateTimeOffset PeriodStart,
    DateTimeOffset PeriodEnd,
    bool CancelAtPeriodEnd,
    Guid? TenantId)
{
    /// <summary>Every item of the subscription. Note: a subscription made in the Dashboard can hold several items and
    /// quantities (two Team seats are twice Team's lanes); empty means the one item at <see cref="PriceId"/>.</summary>
    public IReadOnlyList<StripeItem> Items { get; init; } = [];

    /// <summary>When Stripe will cancel it, if it is set to cancel at a date other than the period end
    /// (<c>cancel_at</c>, set in the Dashboard or the API).</summary>
    public DateTimeOffset? CancelAt { get; init; }

    /// <summary>Stripe's <c>pause_collection.behavior</c> when staff paused collecting payment (the service goes on).</summary>
    public string? CollectionPause { get; init; }

    public DateTimeOffset? CollectionResumesAt { get; init; }

    /// <summary>The next phase of the subscription's schedule, when it has one: what it moves to at
    /// <see cref="ScheduledAt"/> (a downgrade Lanes scheduled, or one made in the Dashboard).</summary>
    public IReadOnlyList<StripeItem> ScheduledItems { get; init; } = [];

    public DateTimeOffset? ScheduledAt { get; init; }

    public string? ScheduleId { get; init; }

    /// <summary>The subscription's latest invoice (what a duplicate subscription was paid through).</summary>
    public string? LatestInvoiceId { get; init; }

    /// <summary>The items as Lanes reads them: <see cref="Items"/>, or the single <see cref="PriceId"/>.</summary>
    public IReadOnlyList<StripeItem> ItemsOrPrice => Items.Count > 0 ? Items : [new StripeItem(PriceId, 1)];

    /// <summary>When the subscription ends by itself, if it does.</summary>
    public DateTimeOffset? EndsAt => CancelAt ?? (CancelAtPeriodEnd ? PeriodEnd : null);
}

/// <summary>One line of a Stripe subscription: a price and how many of it.</summary>
public sealed record StripeItem(string? PriceId, long Quantity);
