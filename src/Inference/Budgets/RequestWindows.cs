using Lanes.Billing.GatewayContract;
using Lanes.Inference.Infrastructure;
using Lanes.Shared.Windows;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Budgets;

/// <summary>
/// Requests each tenant started in its current window (the plan's requests-per-window limit). Like budgets, the limit
/// is a pool in PostgreSQL that gateways lease slices of, so N gateways together start at most the limit, and a
/// restarted gateway does not start counting from zero (docs/scale-out.md).
/// </summary>
public sealed class RequestWindows(ILeasePools pools, LeaseCircuit circuit, GatewayNode node, IOptions<BudgetLeaseOptions> options, TimeProvider clock)
{
    private readonly LeaseBook _book = new(pools, circuit, node.Holder, ILeasePools.ForTenantRequests, options, clock);

    /// <summary>Counts one request if the window has room; returns the count here after, or null when it is full.</summary>
    public async ValueTask<long?> TryCountAsync(Guid tenantId, Window window, long limit, CancellationToken ct)
    {
        var slice = Math.Max(1m, Math.Ceiling(limit * (decimal)options.Value.SliceFraction));
        var headroom = Math.Max(1m, Math.Ceiling(limit * (decimal)options.Value.HeadroomFraction));
        var (taken, standing) = await _book.TryTakeAsync(tenantId, window, limit, 1m, slice, headroom, 0m, ct);
        if (!taken)
        {
            return null;
        }

        // A request counts as started at once; a refusal before it runs gives the count back (Refund).
        _book.Settle(tenantId, standing.Window.Start, 1m, 1m);
        return (long)(standing.Spent + standing.Held);
    }

    /// <summary>Gives back a request counted in <paramref name="window"/> that was refused before it ran.</summary>
    public void Refund(Guid tenantId, Window window) => _book.Refund(tenantId, window.Start, 1m);

    /// <summary>Requests this gateway started for the tenant in the window.</summary>
    public long Used(Guid tenantId, Window window)
    {
        var standing = _book.StandingIn(tenantId, window);
        return standing.Window.Start == window.Start ? (long)(standing.Spent + standing.Held) : 0;
    }

    /// <summary>Every tenant's count in the window it last counted in, for the occupancy report.</summary>
    public IReadOnlyList<(Guid Tenant, DateTimeOffset WindowStart, long Used)> Counts() =>
        [.. _book.Accounts().Select(a => (a.Id, a.Standing.Window.Start, (long)(a.Standing.Spent + a.Standing.Held)))];

    /// <summary>The heartbeat on this gateway's request leases, raising their ceilings.</summary>
    public Task RenewAsync(CancellationToken ct) => _book.RenewAsync(ct);

    /// <summary>Gives back leased requests this gateway did not start, for tenants idle here (or all, at shutdown).</summary>
    public Task ReturnUnusedAsync(bool everything, CancellationToken ct) => _book.ReturnUnusedAsync(everything, ct);
}
