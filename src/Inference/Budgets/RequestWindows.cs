using System.Collections.Concurrent;
using Lanes.Shared.Windows;

namespace Lanes.Inference.Budgets;

/// <summary>Requests each tenant started in its current window (the plan's requests-per-window limit).</summary>
public sealed class RequestWindows
{
    private readonly ConcurrentDictionary<Guid, Counter> _tenants = new();

    /// <summary>Counts one request if the window has room; returns the count after, or null when it is full.</summary>
    public long? TryCount(Guid tenantId, Window window, long limit)
    {
        var counter = _tenants.GetOrAdd(tenantId, _ => new Counter());
        lock (counter)
        {
            counter.Roll(window);
            if (counter.Used >= limit)
            {
                return null;
            }

            return ++counter.Used;
        }
    }

    /// <summary>Gives back a request counted in <paramref name="window"/> that was refused before it ran.</summary>
    public void Refund(Guid tenantId, Window window)
    {
        var counter = _tenants.GetOrAdd(tenantId, _ => new Counter());
        lock (counter)
        {
            counter.Roll(window);
            if (counter.Used > 0)
            {
                counter.Used--;
            }
        }
    }

    public long Used(Guid tenantId, Window window)
    {
        var counter = _tenants.GetOrAdd(tenantId, _ => new Counter());
        lock (counter)
        {
            counter.Roll(window);
            return counter.Used;
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

    private sealed class Counter
    {
        private DateTimeOffset _start = DateTimeOffset.MinValue;

        public DateTimeOffset Start => _start;

        public long Used { get; set; }

        public void Roll(Window window)
        {
            if (window.Start != _start)
            {
                _start = window.Start;
                Used = 0;
            }
        }
    }
}
