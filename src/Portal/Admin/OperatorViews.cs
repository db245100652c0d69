using Lanes.Billing.Capacity;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Shared.Windows;

namespace Lanes.Portal.Admin;

/// <summary>The shapes commands print (snake_case, as scripts read them); they are stable, so fields are only ever added.</summary>
internal static class OperatorViews
{
    public static object Tenant(string slug, string name, Guid tenantId, Subscription s, DateTimeOffset now) => new
    {
        slug,
        name,
        tenant_id = tenantId,
        plan = s.PlanId,
        status = s.Status,
        reserved_lanes = s.ReservedLanesAt(now),
        plan_lanes = s.PlanLanes,
        @override = s.Override is { } o ? new { lanes = o.Lanes, until = o.Until, reason = o.Reason, staff = o.StaffId } : null,
        period_end = s.PeriodEnd,
    };

    public static object Capacity(CapacityReport r) => new
    {
        source = r.Source,
        sellable_lanes = r.SellableLanes,
        sold_lanes = r.SoldLanes,
        free_lanes = r.FreeLanes,
        live_slots = r.LiveSlots,
        unplaced_lanes = r.UnplacedLanes,
        spare_slots = r.SpareSlots,
        trial_pool = r.TrialLanes,
        pending_checkout_lanes = r.PendingLanes,
        pools = r.Pools.Select(p => new
        {
            pool = p.Pool,
            plans = p.Plans,
            models = p.Now.Models,
            unserved_models = p.UnservedModels,
            sellable_lanes = p.Now.SellableLanes,
            sold_lanes = p.SoldLanes,
            free_lanes = p.FreeLanes,
            live_slots = p.Now.LiveSlots,
            placed_lanes = p.PlacedLanes,
            unplaced_lanes = p.UnplacedLanes,
            spare_slots = p.Now.SpareSlots,
            trial_pool = p.Now.TrialLanes,
            pending_checkout_lanes = p.PendingLanes,
            planned = p.Now.Planned is { } f ? new { slots = f.Slots, from = f.EffectiveAt, reason = f.Reason, by = f.DeclaredBy } : null,
        }).ToList(),
        gateways = r.Nodes.Select(n => new { id = n.Id, pool = n.Pool, slots = n.Slots, models = n.Models, reported_at = n.ReportedAt }).ToList(),
    };

    public static object Key(ApiKey k, string? secret) => new
    {
        id = k.Id,
        tenant_id = k.TenantId,
        name = k.Name,
        prefix = k.Prefix,
        state = k.State,
        revoked_for = k.RevokedFor,
        budget_usd = k.BudgetUsd,
        window = WindowSchedule.Format(k.WindowLength),
        window_resets_at = k.WindowEnd,
        spent_usd = k.WindowSpentUsd,
        expires_at = k.ExpiresAt,
        models = k.Models,
        created_at = k.CreatedAt,
        secret,
    };
}
