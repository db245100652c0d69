using Lanes.Billing.GatewayContract;
using Lanes.Billing.Leases;
using Lanes.Inference.Infrastructure;
using Lanes.Shared.Windows;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Budgets;

/// <summary>Money set aside for one running request: its worst case, settled to the actual cost when it ends.</summary>
public sealed record Hold(Guid KeyId, DateTimeOffset WindowStart, decimal AmountUsd);

/// <summary>Where a key stands in its current window, as this gateway sees it.</summary>
public readonly record struct BudgetView(decimal LimitUsd, decimal SpentUsd, decimal HeldUsd, Window Window)
{
    public decimal RemainingUsd => Math.Max(0m, LimitUsd - SpentUsd - HeldUsd);
}

/// <summary>
/// Per-key budgets for the current window. Note: a request is admitted only if its worst-case cost fits what this
/// gateway has leased from the key's budget and neither spent nor held, and its actual cost never exceeds its hold.
/// Leases come from PostgreSQL (<see cref="ILeasePools"/>), which never grants more than the budget in total, so all
/// gateways together never spend more than a key's budget (docs/scale-out.md states the bound).
/// </summary>
public sealed class BudgetLedger(ILeasePools pools, LeaseCircuit circuit, GatewayNode node, IOptions<BudgetLeaseOptions> options, TimeProvider clock)
{
    private readonly LeaseBook _book = new(pools, circuit, node.Holder, ILeasePools.ForKey, options, clock, capacityFromKey: true);

    public async ValueTask<(Hold? Hold, BudgetView View)> TryHoldAsync(KeyStatus key, decimal worstCaseUsd, DateTimeOffset now, CancellationToken ct)
    {
        var window = WindowSchedule.At(now, key.WindowLength);
        var recorded = key.RecordedSpendIn(window.Start);
        var (taken, standing) = await _book.TryTakeAsync(
            key.Id, window, key.BudgetUsd, worstCaseUsd, key.BudgetUsd * (decimal)options.Value.SliceFraction,
            key.BudgetUsd * (decimal)options.Value.HeadroomFraction, recorded, ct);
        return (taken ? new Hold(key.Id, standing.Window.Start, worstCaseUsd) : null, View(key, standing));
    }

    /// <summary>Turns a hold into spend: the actual cost is counted, the rest of the hold is released.</summary>
    public void Settle(Hold hold, decimal actualUsd) => _book.Settle(hold.KeyId, hold.WindowStart, hold.AmountUsd, actualUsd);

    public BudgetView View(KeyStatus key, DateTimeOffset now) => View(key, _book.StandingIn(key.Id, WindowSchedule.At(now, key.WindowLength)));

    /// <summary>The heartbeat on this gateway's key leases, raising their ceilings (<see cref="LeaseBook.RenewAsync"/>).</summary>
    public Task RenewAsync(CancellationToken ct) => _book.RenewAsync(ct);

    /// <summary>Gives back the unused part of leases on keys idle here (or of every key, at shutdown).</summary>
    public Task ReturnUnusedAsync(bool everything, CancellationToken ct) => _book.ReturnUnusedAsync(everything, ct);

    private static BudgetView View(KeyStatus key, LeaseBook.Standing standing)
    {
        // Other gateways' spend reaches this one through billing (flushed every second): show whichever is larger.
        return new BudgetView(key.BudgetUsd, Math.Max(standing.Spent, key.RecordedSpendIn(standing.Window.Start)), standing.Held, standing.Window);
    }
}
