namespace Lanes.Billing.Capacity;

/// <summary>
/// Lanes set aside for a tenant's open Stripe Checkout until it is paid (the subscription starts and takes them over,
/// in the same transaction) or expires. Note: without it two customers could both be shown the last free lanes, both
/// pay, and the cluster would be oversold; with it the second is told there is no room before paying. One per tenant
/// (the id is the tenant): a tenant has at most one checkout open.
/// </summary>
public sealed record PendingReservation(
    Guid Id, int Lanes, DateTimeOffset ExpiresAt, string? CheckoutSessionId = null, bool PaymentProcessing = false, string? Pool = null)
{
    public Guid TenantId => Id;

    /// <summary>The model pool of the plan being bought (the default pool for holds made before pools existed).</summary>
    public string PoolId => Pool ?? global::Lanes.Shared.Plans.ModelPools.Default;
}
