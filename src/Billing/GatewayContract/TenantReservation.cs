using Lanes.Billing.Subscriptions;

namespace Lanes.Billing.GatewayContract;

/// <summary>
/// A tenant's subscription as a gateway needs it to admit a request: whether it is live, its plan, its lanes (with a
/// staff override and a grace period's reduction) and its requests per window. Read from billing's
/// <see cref="Subscription"/>, whose <see cref="Subscription.ReservedLanesAt"/> is this record's rule.
/// </summary>
public sealed record TenantReservation(
    Guid TenantId,
    string PlanId,
    SubscriptionStatus Status,
    int PlanLanes,
    int? GraceLanes,
    int? OverrideLanes,
    DateTimeOffset? OverrideUntil,
    int RequestsPerWindow,
    TimeSpan WindowLength)
{
    public bool IsLive => Status is not (SubscriptionStatus.None or SubscriptionStatus.Ended);

    /// <summary>The lanes reserved for the tenant at <paramref name="now"/>: none unless live and running, a staff
    /// override while it lasts, otherwise the plan's (reduced during a grace period).</summary>
    public int ReservedLanesAt(DateTimeOffset now)
    {
        if (!IsLive || Status == SubscriptionStatus.Paused)
        {
            return 0;
        }

        if (OverrideLanes is { } lanes && (OverrideUntil is null || OverrideUntil > now))
        {
            return lanes;
        }

        return Status == SubscriptionStatus.InGrace && GraceLanes is { } reduced ? Math.Min(reduced, PlanLanes) : PlanLanes;
    }
}
