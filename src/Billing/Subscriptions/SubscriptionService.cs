using Lanes.Billing.Capacity;
using Lanes.Billing.Notices;
using Lanes.Billing.Tenants;
using Lanes.Shared.Plans;
using Marten;
using Marten.Exceptions;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Subscriptions;

/// <summary>
/// Every change to a subscription goes through <see cref="WriteAsync"/>: one transaction that holds the capacity
/// lock, decides from the current state, checks the lanes the new state would hold against the cluster's
/// capacity, and appends with optimistic concurrency on the tenant's stream.
/// </summary>
public sealed class SubscriptionService(
    IDocumentStore store,
    TimeProvider clock,
    PlanCatalog plans,
    FleetCapacity fleet,
    IOptions<DunningOptions> dunning,
    IOptions<InternalBillingOptions> internalBilling)
{
    // Note: one advisory lock serialises every change of allocated lanes across tenants and nodes, so two
    // tenants buying the last free lanes at once cannot both succeed.
    private const long CapacityLockId = 0x4C414E4553; // "LANES"

    public async Task<Subscription?> FindAsync(Guid tenantId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await query.LoadAsync<Subscription>(SubscriptionStreams.For(tenantId), ct);
    }

    /// <summary>The subscriptions of several tenants in one query (staff search lists up to 50 tenants); a tenant
    /// without one is missing from the result.</summary>
    public async Task<IReadOnlyDictionary<Guid, Subscription>> FindManyAsync(IReadOnlyCollection<Guid> tenantIds, CancellationToken ct = default)
    {
        if (tenantIds.Count == 0)
        {
            return new Dictionary<Guid, Subscription>();
        }

        await using var query = store.QuerySession();
        var tenants = tenantIds.Select(Tenant.MartenTenantOf).ToArray();
        var ids = tenantIds.Select(SubscriptionStreams.For).ToArray();
        var found = await query.Query<Subscription>().Where(s => s.TenantIsOneOf(tenants) && s.Id.IsOneOf(ids)).ToListAsync(ct);
        return found.ToDictionary(s => s.TenantId);
    }

    public Task<Subscription> StartAsync(Guid tenantId, string planId, string by, bool trial = false, TimeSpan? period = null, CancellationToken ct = default)
    {
        var plan = plans.Find(planId) ?? throw new RuleViolation("unknown_plan", $"There is no plan '{planId}'. Plans: {string.Join(", ", plans.Tiers.Select(t => t.Id))}.");
        return WriteAsync(tenantId, s => [SubscriptionDecisions.Start(s, tenantId, plan, trial, period, by, clock.GetUtcNow())], ct);
    }

    /// <summary>Starts a subscription on the plan, or moves a live one to it (what staff and the CLI mean by "assign");
    /// a free trial assigned a plan becomes that plan, paid from now on. With <paramref name="adjust"/>, the staff
    /// override is set in the same write, so capacity is checked once for the result and a refusal leaves neither.</summary>
    public Task<Subscription> AssignAsync(Guid tenantId, string planId, string by, ReservationChange? adjust = null, CancellationToken ct = default)
    {
        var plan = plans.Find(planId) ?? throw new RuleViolation("unknown_plan", $"There is no plan '{planId}'. Plans: {string.Join(", ", plans.Tiers.Select(t => t.Id))}.");
        return WriteAsync(tenantId, s =>
        {
            var now = clock.GetUtcNow();
            var events = new List<object>();
            if (s is not { IsLive: true })
            {
                events.Add(SubscriptionDecisions.Start(s, tenantId, plan, trial: false, period: null, by, now));
            }
            else
            {
                if (!string.Equals(s.PlanId, plan.Id, StringComparison.OrdinalIgnoreCase) || !s.FreeTrial)
                {
                    events.Add(SubscriptionDecisions.ChangePlan(s, plan, by, now));
                }

                if (s.FreeTrial)
                {
                    events.Add(SubscriptionDecisions.ConvertTrial(s, by, now));
                }
            }

            if (adjust is { } a)
            {
                events.Add(SubscriptionDecisions.AdjustReservation(events.Aggregate(s, Subscription.After), a.Lanes, a.Until, a.Reason, a.StaffId, now));
            }

            return events;
        }, ct);
    }

    public Task<Subscription> ChangePlanAsync(Guid tenantId, string planId, string by, CancellationToken ct = default)
    {
        var plan = plans.Find(planId) ?? throw new RuleViolation("unknown_plan", $"There is no plan '{planId}'.");
        return WriteAsync(tenantId, s => [SubscriptionDecisions.ChangePlan(s, plan, by, clock.GetUtcNow())], ct);
    }

    public Task<Subscription> RenewAsync(Guid tenantId, DateTimeOffset newPeriodEnd, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, s => [SubscriptionDecisions.Renew(s, newPeriodEnd, by, clock.GetUtcNow())], ct);

    public Task<Subscription> FailPaymentAsync(Guid tenantId, string reason, CancellationToken ct = default) =>
        WriteAsync(tenantId, s => SubscriptionDecisions.FailPayment(s, reason, dunning.Value.GracePeriod, dunning.Value.GraceLanes, clock.GetUtcNow()), ct);

    public Task<Subscription> RecoverPaymentAsync(Guid tenantId, CancellationToken ct = default) =>
        WriteAsync(tenantId, s => [SubscriptionDecisions.RecoverPayment(s, clock.GetUtcNow())], ct);

    public Task<Subscription> CancelAsync(Guid tenantId, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, s => [SubscriptionDecisions.Cancel(s, by, clock.GetUtcNow())], ct);

    public Task<Subscription> ResumeAsync(Guid tenantId, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, s => [SubscriptionDecisions.Resume(s, by, clock.GetUtcNow())], ct);

    public Task<Subscription> EndAsync(Guid tenantId, string reason, string by, CancellationToken ct = default) =>
        WriteAsync(tenantId, s => [SubscriptionDecisions.End(s, reason, by, clock.GetUtcNow())], ct);

    public Task<Subscription> AdjustReservationAsync(Guid tenantId, int lanes, DateTimeOffset? until, string reason, string staffId, CancellationToken ct = default) =>
        WriteAsync(tenantId, s => [SubscriptionDecisions.AdjustReservation(s, lanes, until, reason, staffId, clock.GetUtcNow())], ct);

    /// <summary>Applies one of the clock's decisions (a lapse, a renewal, a scheduled plan change, an override's
    /// expiry) when it is still due on the subscription as it is now.</summary>
    /// <returns>True when it changed the subscription.</returns>
    public async Task<bool> ApplyDueAsync(Guid tenantId, Func<Subscription, DateTimeOffset, object?> decide, CancellationToken ct = default)
    {
        var changed = false;
        await WriteAsync(tenantId, s =>
        {
            var due = s is null ? null : decide(s, clock.GetUtcNow());
            changed = due is not null;
            return due is null ? [] : [due];
        }, ct);
        return changed;
    }

    /// <summary>Lanes sold (with those set aside for open checkouts) and lanes that can be sold, in one model pool or,
    /// with none named, across the fleet.</summary>
    public async Task<(int Allocated, int Total)> CapacityAsync(string? pool = null, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        var pools = (await fleet.ReadAsync(query, ct)).Where(p => pool is null || p.Pool == pool).ToList();
        var allocated = 0;
        foreach (var p in pools)
        {
            var (sold, pending) = await SoldAndPendingAsync(query, p.Pool, ct);
            allocated += sold + pending;
        }

        return (allocated, pools.Sum(p => p.SellableLanes));
    }

    /// <summary>Lanes held by subscriptions, and lanes set aside for open checkouts, in one model pool, read in
    /// <paramref name="query"/>.</summary>
    public async Task<(int Sold, int Pending)> SoldAndPendingAsync(IQuerySession query, string pool, CancellationToken ct = default) =>
        ((await SumAllocatedAsync(query, pool, exceptTenant: null, ct)).All, await SumPendingAsync(query, pool, null, ct));

    /// <summary>The model pool a plan's lanes are on.</summary>
    public string PoolOf(string? planId) => ModelPools.Of(planId is null ? null : plans.Find(planId));

    /// <summary>Sets lanes aside for the tenant's checkout of <paramref name="plan"/> (replacing any it had), refused
    /// when the plan's pool has no paid room for them beside every subscription and every other open checkout.</summary>
    public async Task SetAsidePendingAsync(Guid tenantId, PlanTier plan, DateTimeOffset expiresAt, CancellationToken ct = default)
    {
        var pool = ModelPools.Of(plan);
        await using var session = store.LightweightSession();
        await session.BeginTransactionAsync(ct);
        await session.QueryAsync<int>("select 1 from (select pg_advisory_xact_lock(?)) as capacity_lock", ct, CapacityLockId);
        var (all, trials) = await SumAllocatedAsync(session, pool, exceptTenant: null, ct);
        var pending = await SumPendingAsync(session, pool, tenantId, ct);
        CapacityLedger.EnsureFits((await fleet.ReadPoolAsync(session, pool, ct)).PaidLanes, all - trials + pending, 0, plan.ReservedLanes, pool);
        session.Store(new PendingReservation(tenantId, plan.ReservedLanes, expiresAt, Pool: pool));
        await session.SaveChangesAsync(ct);
    }

    /// <summary>Records which checkout the lanes are set aside for, and until when Stripe keeps it open (or, once paid
    /// by a method that settles later, that the payment is processing).</summary>
    public async Task UpdatePendingAsync(Guid tenantId, Func<PendingReservation, PendingReservation?> update, CancellationToken ct = default)
    {
        await using var session = store.LightweightSession();
        await session.BeginTransactionAsync(ct);
        await session.QueryAsync<int>("select 1 from (select pg_advisory_xact_lock(?)) as capacity_lock", ct, CapacityLockId);
        if (await session.LoadAsync<PendingReservation>(tenantId, ct) is { } pending)
        {
            if (update(pending) is { } updated)
            {
                session.Store(updated);
            }
            else
            {
                session.Delete(pending);
            }

            await session.SaveChangesAsync(ct);
        }
    }

    public async Task<PendingReservation?> FindPendingAsync(Guid tenantId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession();
        return await query.LoadAsync<PendingReservation>(tenantId, ct) is { } p && p.ExpiresAt > clock.GetUtcNow() ? p : null;
    }

    /// <summary>Applies what an external source of truth decided (Stripe). Note: with <paramref name="enforceCapacity"/>
    /// off, a subscription Stripe has already charged for is recorded even when it oversells the cluster; the
    /// checkout refuses to start when capacity is short, so this only happens in a race and is logged by the caller.</summary>
    public Task<Subscription> ApplyAsync(Guid tenantId, Func<Subscription?, IReadOnlyList<object>> decide, bool enforceCapacity, CancellationToken ct = default) =>
        WriteAsync(tenantId, decide, ct, enforceCapacity);

    /// <summary>Self-serve signup in internal mode: the configured trial plan for the configured time.</summary>
    public Task<Subscription> StartTrialAsync(Guid tenantId, string by, CancellationToken ct = default)
    {
        var trial = internalBilling.Value;
        var plan = plans.Find(trial.TrialPlan) ?? throw new RuleViolation("unknown_plan", $"The trial plan '{trial.TrialPlan}' is not in the catalog.");
        return WriteAsync(tenantId, s => s is null
            ? [SubscriptionDecisions.Start(s, tenantId, plan, trial: true, trial.TrialLength, by, clock.GetUtcNow())]
            : throw new RuleViolation("trial_used", "This organisation has already had a subscription; ask Lanes staff for a plan."), ct);
    }

    /// <summary>Appends what <paramref name="decide"/> makes of the current state to the tenant's subscription
    /// history (nothing when it returns none), for entries that do not change lanes: service credits.</summary>
    public Task<Subscription> RecordAsync(Guid tenantId, Func<Subscription?, IReadOnlyList<object>> decide, CancellationToken ct = default) =>
        WriteAsync(tenantId, decide, ct, enforceCapacity: false);

    private async Task<Subscription> WriteAsync(Guid tenantId, Func<Subscription?, IReadOnlyList<object>> decide, CancellationToken ct, bool enforceCapacity = true)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var session = store.LightweightSession(Tenant.MartenTenantOf(tenantId));
            await session.BeginTransactionAsync(ct);
            Subscription after;
            try
            {
                after = await WriteInAsync(session, tenantId, decide, enforceCapacity, ct);
            }
            catch (SessionTransactionUnusableException) when (attempt == 1)
            {
                // The pooled connection died with the server (a restart or failover since it was last used), and so
                // did every other idle one: Npgsql does not know until each is used. Nothing was saved yet, so drop
                // them all and decide again on a fresh connection rather than fail the person's action.
                if (store.Storage.Database is Weasel.Postgresql.PostgresqlDatabase database)
                {
                    database.DataSource.Clear();
                }

                continue;
            }

            await session.SaveChangesAsync(ct);
            return after;
        }
    }

    /// <summary>Starts a new tenant's subscription in the session that creates the tenant, so the two happen whole or
    /// not at all (an operator's <c>tenant create --plan</c>): refused for capacity, neither is saved.</summary>
    public Task<Subscription> StartWithNewTenantAsync(IDocumentSession session, Guid tenantId, string planId, string by, CancellationToken ct = default)
    {
        var plan = plans.Find(planId) ?? throw new RuleViolation("unknown_plan", $"There is no plan '{planId}'. Plans: {string.Join(", ", plans.Tiers.Select(t => t.Id))}.");
        return WriteInAsync(session, tenantId, s => [SubscriptionDecisions.Start(s, tenantId, plan, false, null, by, clock.GetUtcNow())], enforceCapacity: true, ct);
    }

    /// <summary>Decides and stages a change in <paramref name="session"/> (which must be the tenant's, in a
    /// transaction); the caller saves it.</summary>
    private async Task<Subscription> WriteInAsync(IDocumentSession session, Guid tenantId, Func<Subscription?, IReadOnlyList<object>> decide, bool enforceCapacity, CancellationToken ct)
    {
        var streamId = SubscriptionStreams.For(tenantId);
        await session.QueryAsync<int>("select 1 from (select pg_advisory_xact_lock(?)) as capacity_lock", ct, CapacityLockId);

        var stream = await session.Events.FetchForWriting<Subscription>(streamId, ct);
        var before = stream.Aggregate;
        var events = decide(before);
        if (events.Count == 0)
        {
            return before ?? throw new NotFound("Subscription");
        }

        var after = events.Aggregate(before, Subscription.After)!;

        // Note: lanes are sold per model pool (a plan's pool; a lane on one model's GPUs cannot serve another), and
        // within a pool from two parts: a free trial's plan lanes count only against the trial pool, every other lane
        // (paid plans, staff overrides, open checkouts) against the rest. A trial staff convert moves from one to the
        // other; a plan change to another model pool needs all its lanes there. The ledger is read only when the
        // tenant's lanes grow in a pool: renewals, history entries and shrinking changes (most writes) need no room and
        // cost no capacity queries.
        var pool = PoolOf(after.PlanId);
        var samePool = before is not null && PoolOf(before.PlanId) == pool;
        var paidBefore = samePool ? before!.PaidPoolLanes : 0;
        var trialBefore = samePool ? before!.TrialPoolLanes : 0;
        if (after.PaidPoolLanes > paidBefore || after.TrialPoolLanes > trialBefore)
        {
            var capacity = await fleet.ReadPoolAsync(session, pool, ct);
            var (allOfOthers, trialsOfOthers) = await SumAllocatedAsync(session, pool, exceptTenant: tenantId, ct);
            var paidOfOthers = allOfOthers - trialsOfOthers + await SumPendingAsync(session, pool, tenantId, ct);
            if (enforceCapacity)
            {
                CapacityLedger.EnsureTrialFits(capacity.TrialLanes, trialsOfOthers, trialBefore, after.TrialPoolLanes);
                CapacityLedger.EnsureFits(capacity.PaidLanes, paidOfOthers, paidBefore, after.PaidPoolLanes, pool);
            }
            else if (after.PaidPoolLanes > paidBefore && after.PaidPoolLanes > capacity.PaidLanes - paidOfOthers)
            {
                // Stripe has charged for these lanes already: they are served, and staff are told the cluster is oversold.
                events = [.. events, new CapacityOverbooked(tenantId, after.PaidPoolLanes, Math.Max(0, capacity.PaidLanes - paidOfOthers), clock.GetUtcNow())];
            }
        }

        // A subscription that starts takes over the lanes its checkout had set aside.
        if (after.IsLive && before is not { IsLive: true })
        {
            session.Delete<PendingReservation>(tenantId);
        }

        // FetchForWriting also covers a stream that does not exist yet: the append then starts it.
        stream.AppendMany(events);

        // Billing emails are queued with the events that cause them (a transactional outbox), never twice: writes of a
        // tenant are serialised by the lock above, so a notice already there is seen here.
        foreach (var notice in BillingNotices.From(before, events, after, clock.GetUtcNow()))
        {
            if (await session.LoadAsync<BillingNotice>(notice.Id, ct) is null)
            {
                session.Store(notice);
            }
        }

        return after with { Id = streamId };
    }

    /// <summary>Lanes set aside in a model pool for open checkouts of every tenant (but one). Note: summed here, not
    /// in SQL, because holds made before pools existed name none; there are at most as many as open checkouts.</summary>
    private async Task<int> SumPendingAsync(IQuerySession query, string pool, Guid? exceptTenant, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var pending = query.Query<PendingReservation>().Where(p => p.ExpiresAt > now);
        if (exceptTenant is { } t)
        {
            pending = pending.Where(p => p.Id != t);
        }

        return (await pending.ToListAsync(ct)).Where(p => p.PoolId == pool).Sum(p => p.Lanes);
    }

    /// <summary>Lanes held in a model pool by every tenant (but one), and the part of them in the trial pool. Note:
    /// paid lanes are the difference, so a snapshot written before the trial pool existed counts as paid. A plan no
    /// longer in the catalog counts in the default pool.</summary>
    private async Task<(int All, int Trials)> SumAllocatedAsync(IQuerySession query, string pool, Guid? exceptTenant, CancellationToken ct)
    {
        var all = query.Query<Subscription>().Where(s => s.AnyTenant() && s.AllocatedLanes > 0);
        if (exceptTenant is { } t)
        {
            all = all.Where(s => s.TenantId != t);
        }

        if (pool == ModelPools.Default)
        {
            var elsewhere = plans.Tiers.Where(p => ModelPools.Of(p) != pool).Select(p => p.Id).ToArray();
            if (elsewhere.Length > 0)
            {
                all = all.Where(s => !s.PlanId.IsOneOf(elsewhere));
            }
        }
        else
        {
            var here = plans.Tiers.Where(p => ModelPools.Of(p) == pool).Select(p => p.Id).ToArray();
            all = all.Where(s => s.PlanId.IsOneOf(here));
        }

        return (await all.SumAsync(s => s.AllocatedLanes, ct), await all.Where(s => s.TrialPoolLanes > 0).SumAsync(s => s.TrialPoolLanes, ct));
    }
}
