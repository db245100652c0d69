using Lanes.Inference.Engine;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.LaneScheduling;

/// <summary>Why a request did not get a lane: its queue was full, or it waited past the queue timeout.</summary>
public sealed record LaneRefusal(string Code, string Message);

/// <summary>What asking for a lane gives: the lease, or why not. A value, so a flood's refusals cost no exceptions.
/// <paramref name="WithinReservation"/>: the tenant had fewer requests running, fleet-wide, than its reserved lanes
/// when this one arrived, so the lane promise covers it.</summary>
public readonly record struct LaneGrant(LaneLease? Lease, LaneRefusal? Refusal, bool WithinReservation = false)
{
    public static implicit operator LaneGrant(LaneLease lease) => new(lease, null);

    public static implicit operator LaneGrant(LaneRefusal refusal) => new(null, refusal);
}

/// <summary>A tenant's reservation across the fleet and what it has running on the other gateways (from their last
/// occupancy reports): what decides whether a request is within reservation.</summary>
public readonly record struct FleetStanding(int Reserved, int RunningElsewhere);

/// <summary>A tenant's lanes at one moment, for headers and <c>/v1/usage</c>.</summary>
public readonly record struct LaneView(int Reserved, int InUse, int Borrowed, int Queued);

/// <summary>
/// Admits each request into its tenant's lane. A tenant below its reservation on this gateway runs at once. Above it
/// but still below its reservation across the fleet (its requests reached this gateway beyond its placed share, as a
/// random balancer makes them), a request runs in this gateway's spill lanes: slots bursting may not take
/// (<see cref="SetSpillLanes"/>, docs/scale-out.md). Beyond its reservation, a request may borrow capacity nobody has
/// reserved (burst), shared among bursting tenants least-service-first (a virtual token counter, after Sheng et al.,
/// "Fairness in Serving Large Language Models", OSDI 2024); otherwise it waits in its own bounded queue. Note:
/// bursting never uses a slot that an idle reservation or an unused spill lane may claim, so one tenant's burst cannot
/// delay another tenant's reserved lanes, on this gateway or across the fleet.
/// </summary>
public sealed class LaneScheduler(IInferenceEngine engine, IOptions<LaneOptions> options, TimeProvider clock)
{
    private readonly Lock _lock = new();
    private readonly Dictionary<Guid, TenantLane> _tenants = [];

    /// <summary>The tenants with requests waiting: dispatch looks only at these, so releasing a lane costs the same
    /// with ten thousand tenants as with one, and nothing at all when nobody waits.</summary>
    private readonly HashSet<TenantLane> _backlogged = [];
    private readonly int _slots = engine.Slots;
    private int _busy;
    private long _arrivals;

    /// <summary>Slots bursting must leave free here for requests within their tenant's fleet reservation beyond its
    /// share on this gateway, and how many such requests run now.</summary>
    private int _spillLanes;
    private int _spilling;

    /// <summary>Sets the spill lanes (placement does, each time it places reservations): never more than the slots
    /// no reservation here holds.</summary>
    public void SetSpillLanes(int lanes)
    {
        lock (_lock)
        {
            var changed = _spillLanes != lanes;
            _spillLanes = Math.Max(0, lanes);
            if (changed)
            {
                Dispatch();
            }
        }
    }

    public int SpillLanes
    {
        get
        {
            lock (_lock)
            {
                return _spillLanes;
            }
        }
    }

    public int Slots => _slots;

    /// <summary>Waits for a lane. <paramref name="reserved"/> is the tenant's reservation on this gateway;
    /// <paramref name="reservedByAll"/> is the sum over every live tenant (what bursting must leave free);
    /// <paramref name="fleet"/> is its whole reservation and what runs elsewhere (null: this gateway is the fleet).</summary>
    public async ValueTask<LaneGrant> AcquireAsync(Guid tenantId, int reserved, int reservedByAll, CancellationToken ct, FleetStanding? fleet = null)
    {
        Waiter waiter;
        bool within;
        lock (_lock)
        {
            var lane = Lane(tenantId);
            // Judged on arrival, before this request takes a lane or a place in the queue. What runs elsewhere is
            // known from reports a moment old, so a tenant running at its reservation, whose next request follows
            // each one that ends, would often be judged over it for a moment after each end: the spill lanes
            // therefore admit by what is exact, the tenant's requests here against its whole reservation
            // (docs/scale-out.md), and the promise is metered by the fleet-wide count.
            within = fleet is { } f ? lane.InUse + f.RunningElsewhere < f.Reserved : lane.InUse < reserved;
            lane.FleetReserved = fleet?.Reserved ?? 0;
            var changed = lane.Reserved != reserved || _reservedByAll != reservedByAll;
            _reservedInUse += Math.Min(lane.InUse, reserved) - Math.Min(lane.InUse, lane.Reserved);
            lane.Reserved = reserved;
            SettleSpill(lane);
            _reservedByAll = reservedByAll;
            if (changed)
            {
                // A bigger reservation (or fewer reserved by others) may let waiters run now.
                Dispatch();
            }

            if (lane.Queue.Count == 0 && TryAdmit(lane) is { } lease)
            {
                return new LaneGrant(lease, null, within);
            }

            if (lane.Queue.Count >= options.Value.QueueLength)
            {
                return new LaneGrant(null, new LaneRefusal("lane_queue_full",
                    $"Your lane queue is full ({options.Value.QueueLength} requests waiting for your {reserved} reserved lanes). Retry when a request finishes."), within);
            }

            if (lane.Queue.Count == 0)
            {
                // A tenant that starts bursting again does not bring credit from its idle time (VTC counter lift).
                var least = lane.Service;
                foreach (var waiting in _backlogged)
                {
                    least = Math.Min(least, waiting.Service);
                }

                lane.Service = Math.Max(lane.Service, least);
            }

            waiter = new Waiter(lane, ++_arrivals);
            lane.Queue.AddLast(waiter.Node);
            _backlogged.Add(lane);
        }

        using var timeout = new CancellationTokenSource(options.Value.QueueTimeout, clock);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        await using (linked.Token.Register(() => Abandon(waiter)))
        {
            try
            {
                return new LaneGrant(await waiter.Admitted.Task, null, within);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                return new LaneGrant(null, new LaneRefusal("lane_queue_timeout",
                    $"No lane freed within {options.Value.QueueTimeout.TotalSeconds:0} s while your {reserved} reserved lanes were busy. Retry, or ask for more lanes."), within);
            }
        }
    }

    public LaneView View(Guid tenantId, int reserved)
    {
        lock (_lock)
        {
            return _tenants.TryGetValue(tenantId, out var lane)
                ? new LaneView(reserved, lane.InUse, Math.Max(0, lane.InUse - lane.Reserved), lane.Queue.Count)
                : new LaneView(reserved, 0, 0, 0);
        }
    }

    /// <summary>Per-tenant occupancy and queue depth, for metrics.</summary>
    public IReadOnlyList<(Guid Tenant, int InUse, int Queued)> Occupancy()
    {
        lock (_lock)
        {
            return _tenants.Select(t => (t.Key, t.Value.InUse, t.Value.Queue.Count)).ToList();
        }
    }

    private int _reservedByAll;

    /// <summary>Σ over tenants of min(in use, reserved), kept as a running figure so admission stays O(1).</summary>
    private int _reservedInUse;

    private TenantLane Lane(Guid tenantId)
    {
        if (!_tenants.TryGetValue(tenantId, out var lane))
        {
            lane = new TenantLane(tenantId) { IdleSince = clock.GetUtcNow() };
            _tenants[tenantId] = lane;
        }

        return lane;
    }

    /// <summary>Slots that must stay free for reservations not in use right now.</summary>
    private int UnusedReservations() => Math.Max(0, _reservedByAll - _reservedInUse);

    /// <summary>Admits the tenant's next request if a slot is free for it now: in its reservation here, else in a
    /// spill lane while it runs fewer here than its whole fleet reservation (judged now, not when it arrived: a
    /// waiter must not spill past it), else as a burst.</summary>
    private LaneLease? TryAdmit(TenantLane lane)
    {
        var fleetWithin = lane.InUse < lane.FleetReserved;
        var free = _slots - _busy;
        if (free <= 0)
        {
            return null;
        }

        var withinHere = lane.InUse < lane.Reserved;
        var spill = !withinHere && fleetWithin;
        if (!withinHere)
        {
            // Past its share here: never a slot an idle reservation may claim; and a burst leaves the unused spill
            // lanes too.
            var spare = free - UnusedReservations();
            if (spare <= 0 || (!spill && spare - Math.Max(0, _spillLanes - _spilling) <= 0))
            {
                return null;
            }
        }

        _busy++;
        if (withinHere)
        {
            _reservedInUse++;
        }

        if (spill)
        {
            _spilling++;
            lane.Spilling++;
        }

        lane.InUse++;
        return new LaneLease(this, lane, borrowed: !withinHere && !spill, spill);
    }

    internal void Release(TenantLane lane, long servedTokens, bool spill)
    {
        lock (_lock)
        {
            Free(lane, spill);
            lane.Service += servedTokens;
            Dispatch();
        }
    }

    private void Free(TenantLane lane, bool spill)
    {
        _busy--;
        if (spill && lane.Spilling > 0)
        {
            _spilling--;
            lane.Spilling--;
        }

        if (lane.InUse <= lane.Reserved)
        {
            _reservedInUse--;
        }

        lane.InUse--;
        if (lane.InUse == 0)
        {
            lane.IdleSince = clock.GetUtcNow();
        }

        SettleSpill(lane);
    }

    /// <summary>Spill lanes in use are counted, not owned by a request: when one of a tenant's reserved requests ends
    /// while its spilled ones run, a spilled one now runs in the reserved lane, so the tenant spills no more than it
    /// runs past its share here.</summary>
    private void SettleSpill(TenantLane lane)
    {
        var over = Math.Max(0, lane.InUse - lane.Reserved);
        if (lane.Spilling > over)
        {
            _spilling -= lane.Spilling - over;
            lane.Spilling = over;
        }
    }

    /// <summary>Forgets tenants with nothing running or waiting here for <paramref name="idle"/>, so the scheduler's
    /// state (and each dispatch's scan) grows with the tenants active on this gateway, not with every tenant it ever
    /// served. A forgotten tenant comes back with no service counted, which is what the counter lift gives a tenant
    /// that starts again after idling anyway.</summary>
    /// <returns>How many were forgotten.</returns>
    public int ForgetIdle(TimeSpan idle)
    {
        var before = clock.GetUtcNow() - idle;
        lock (_lock)
        {
            var gone = _tenants.Values.Where(t => t.InUse == 0 && t.Queue.Count == 0 && t.IdleSince < before).Select(t => t.TenantId).ToList();
            foreach (var tenant in gone)
            {
                _tenants.Remove(tenant);
            }

            return gone.Count;
        }
    }

    /// <summary>Hands freed slots to waiters: first to tenants below their reservation (in arrival order), then to
    /// bursting tenants, least service first.</summary>
    private void Dispatch()
    {
        while (_busy < _slots && _backlogged.Count > 0)
        {
            // Tenants below their reservation here first, oldest waiter first; then requests within their fleet
            // reservation (spill), oldest first; then bursting tenants, least service first (the oldest waiter among
            // equals).
            TenantLane? reservedNext = null, spillNext = null, burstNext = null;
            foreach (var t in _backlogged)
            {
                if (t.InUse < t.Reserved && (reservedNext is null || t.Queue.First!.Value.Arrival < reservedNext.Queue.First!.Value.Arrival))
                {
                    reservedNext = t;
                }

                if (t.InUse < t.FleetReserved && (spillNext is null || t.Queue.First!.Value.Arrival < spillNext.Queue.First!.Value.Arrival))
                {
                    spillNext = t;
                }

                if (burstNext is null || t.Service < burstNext.Service
                    || (t.Service == burstNext.Service && t.Queue.First!.Value.Arrival < burstNext.Queue.First!.Value.Arrival))
                {
                    burstNext = t;
                }
            }

            var next = reservedNext ?? spillNext ?? burstNext;
            if (next is null || TryAdmit(next) is not { } lease)
            {
                return;
            }

            var waiter = next.Queue.First!.Value;
            next.Queue.RemoveFirst();
            if (next.Queue.Count == 0)
            {
                _backlogged.Remove(next);
            }

            if (!waiter.Admitted.TrySetResult(lease))
            {
                // Abandoned at this very moment: give the slot back and look again.
                Free(next, lease.Spill);
            }
        }
    }

    private void Abandon(Waiter waiter)
    {
        lock (_lock)
        {
            if (waiter.Node.List is not null)
            {
                waiter.Lane.Queue.Remove(waiter.Node);
                if (waiter.Lane.Queue.Count == 0)
                {
                    _backlogged.Remove(waiter.Lane);
                }

                waiter.Admitted.TrySetCanceled();
            }
        }
    }

    internal sealed class TenantLane(Guid tenantId)
    {
        public Guid TenantId { get; } = tenantId;
        public int Reserved { get; set; }
        public int InUse { get; set; }

        /// <summary>Its reservation across the fleet (0 when the caller gave none): past its share here, it may spill
        /// while it runs fewer than this here.</summary>
        public int FleetReserved { get; set; }

        /// <summary>Of <see cref="InUse"/>, how many run in this gateway's spill lanes.</summary>
        public int Spilling { get; set; }
        public long Service { get; set; }
        public LinkedList<Waiter> Queue { get; } = new();

        /// <summary>When its last running request ended (or it was first seen).</summary>
        public DateTimeOffset IdleSince { get; set; }
    }

    internal sealed class Waiter
    {
        public Waiter(TenantLane lane, long arrival)
        {
            Lane = lane;
            Arrival = arrival;
            Node = new LinkedListNode<Waiter>(this);
        }

        public TenantLane Lane { get; }
        public long Arrival { get; }
        public LinkedListNode<Waiter> Node { get; }
        public TaskCompletionSource<LaneLease> Admitted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}

/// <summary>A slot held by one request; disposing it frees the slot at once (finished, failed or disconnected).</summary>
public sealed class LaneLease : IDisposable
{
    private readonly LaneScheduler _scheduler;
    private readonly LaneScheduler.TenantLane _lane;
    private int _released;

    internal LaneLease(LaneScheduler scheduler, LaneScheduler.TenantLane lane, bool borrowed, bool spill = false)
    {
        _scheduler = scheduler;
        _lane = lane;
        Borrowed = borrowed;
        Spill = spill;
    }

    /// <summary>True when the request runs on unreserved capacity (burst).</summary>
    public bool Borrowed { get; }

    /// <summary>True when it runs in a spill lane: within its tenant's fleet reservation, past its share here.</summary>
    public bool Spill { get; }

    /// <summary>Tokens the request consumed, added to the tenant's service counter for burst fairness.</summary>
    public long ServedTokens { get; set; }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _released, 1) == 0)
        {
            _scheduler.Release(_lane, ServedTokens, Spill);
        }
    }
}
