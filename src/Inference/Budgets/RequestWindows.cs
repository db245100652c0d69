using System.Collections.Concurrent;
using Lanes.Billing.Leases;
using Lanes.Shared.Windows;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Budgets;

/// <summary>
/// Requests each tenant started in its current window (the plan's requests-per-window limit). Like budgets, the limit
/// is a pool in PostgreSQL that gateways lease slices of, so N gateways together start at most the limit, and a
/// restarted gateway does not start counting from zero (docs/scale-out.md).
/// </summary>
public sealed class RequestWindows(LeasePools pools, IOptions<BudgetLeaseOptions> options, TimeProvider clock)
{
    private static readonly TimeSpan RecheckFull = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<Guid, Counter> _tenants = new();
    private readonly ConcurrentQueue<(Guid Tenant, DateTimeOffset Window, long Unused)> _returns = new();

    /// <summary>Counts one request if the window has room; returns the count here after, or null when it is full.</summary>
    public async ValueTask<long?> TryCountAsync(Guid tenantId, Window window, long limit, CancellationToken ct)
    {
        var counter = _tenants.GetOrAdd(tenantId, _ => new Counter());
        for (var attempt = 0; ; attempt++)
        {
            var now = clock.GetUtcNow();
            lock (counter)
            {
                Roll(tenantId, counter, window);
                counter.LastActivity = now;
                if (counter.Used < counter.Leased)
                {
                    return ++counter.Used;
                }

                if (attempt >= 2 || (counter.FullSince is { } full && now - full < RecheckFull))
                {
                    return null;
                }
            }

            await counter.Leasing.WaitAsync(ct);
            try
            {
                lock (counter)
                {
                    if (counter.Start == window.Start && counter.Used < counter.Leased)
                    {
                        continue;
                    }
                }

                var slice = Math.Max(1L, (long)Math.Ceiling(limit * options.Value.SliceFraction));
                var granted = (long)await pools.GrantAsync(LeasePools.ForTenantRequests(tenantId), window.Start, limit, slice, 1m, ct: ct);
                lock (counter)
                {
                    if (counter.Start != window.Start)
                    {
                        _returns.Enqueue((tenantId, window.Start, granted));
                    }
                    else if (granted > 0)
                    {
                        counter.Leased += granted;
                        counter.FullSince = null;
                    }
                    else
                    {
                        counter.FullSince = now;
                    }
                }
            }
            finally
            {
                counter.Leasing.Release();
            }
        }
    }

    /// <summary>Gives back a request counted in <paramref name="window"/> that was refused before it ran.</summary>
    public void Refund(Guid tenantId, Window window)
    {
        var counter = _tenants.GetOrAdd(tenantId, _ => new Counter());
        lock (counter)
        {
            if (counter.Start == window.Start && counter.Used > 0)
            {
                counter.Used--;
            }
        }
    }

    /// <summary>Requests this gateway started for the tenant in the window.</summary>
    public long Used(Guid tenantId, Window window)
    {
        var counter = _tenants.GetOrAdd(tenantId, _ => new Counter());
        lock (counter)
        {
            return counter.Start == window.Start ? counter.Used : 0;
        }
    }

    /// <summary>Every tenant's count in the window it last counted in, for the occupancy report.</summary>
    public IReadOnlyList<(Guid Tenant, DateTimeOffset WindowStart, long Used)> Counts()
    {
        var counts = new List<(Guid, DateTimeOffset, long)>();
        foreach (var (tenant, counter) in _tenants)
        {
            lock (counter)
            {
                counts.Add((tenant, counter.Start, counter.Used));
            }
        }

        return counts;
    }

    /// <summary>Gives back leased requests this gateway did not start, for tenants idle here (or all, at shutdown).</summary>
    public async Task ReturnUnusedAsync(bool everything, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        foreach (var (tenant, counter) in _tenants)
        {
            lock (counter)
            {
                var unused = counter.Leased - counter.Used;
                if (unused > 0 && (everything || now - counter.LastActivity >= options.Value.IdleReturn))
                {
                    counter.Leased -= unused;
                    _returns.Enqueue((tenant, counter.Start, unused));
                }
            }
        }

        // Note: taken off the queue before it is sent, so a return that committed but looked failed is never sent
        // twice (which would let the fleet lease the same allowance again); a failed return is lost allowance.
        while (_returns.TryDequeue(out var item))
        {
            await pools.ReturnAsync(LeasePools.ForTenantRequests(item.Tenant), item.Window, item.Unused, ct);
        }
    }

    private void Roll(Guid tenantId, Counter counter, Window window)
    {
        // Only forwards: a request that waited across a boundary counts in the window open now.
        if (window.Start <= counter.Start)
        {
            return;
        }

        if (counter.Leased > counter.Used && counter.Start != DateTimeOffset.MinValue)
        {
            _returns.Enqueue((tenantId, counter.Start, counter.Leased - counter.Used));
        }

        counter.Start = window.Start;
        counter.Used = 0;
        counter.Leased = 0;
        counter.FullSince = null;
    }

    private sealed class Counter
    {
        public DateTimeOffset Start { get; set; } = DateTimeOffset.MinValue;

        /// <summary>Requests started here in the window.</summary>
        public long Used { get; set; }

        /// <summary>Requests this gateway may start in the window (leased from the tenant's pool).</summary>
        public long Leased { get; set; }

        public DateTimeOffset LastActivity { get; set; }

        /// <summary>When the pool last had nothing left, in this window.</summary>
        public DateTimeOffset? FullSince { get; set; }

        public SemaphoreSlim Leasing { get; } = new(1, 1);
    }
}
