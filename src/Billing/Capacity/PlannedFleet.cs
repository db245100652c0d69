namespace Lanes.Billing.Capacity;

/// <summary>
/// An operator's declaration that from <see cref="EffectiveAt"/> a model pool has <see cref="Slots"/> engine slots
/// in all (nodes being added). From then on that many can be sold even before the nodes report, so sales need not wait
/// for hardware that is on its way; if the nodes do not come, sold exceeds live and staff are alerted. The newest
/// declaration in effect counts, per pool; a declaration of 0 withdraws the plan.
/// </summary>
public sealed record PlannedFleet(Guid Id, int Slots, DateTimeOffset EffectiveAt, string Reason, string DeclaredBy, DateTimeOffset DeclaredAt, string? Pool = null)
{
    /// <summary>The pool, for plans declared before pools existed.</summary>
    public string PoolId => Pool ?? Lanes.Shared.Plans.ModelPools.Default;
}
