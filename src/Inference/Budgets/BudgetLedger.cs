using System.ComponentModel.DataAnnotations;
using Lanes.Billing.Keys;
using Lanes.Billing.Leases;
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

/// <summary>How gateways share a key's budget (<c>Gateway:Budgets</c>).</summary>
public sealed class BudgetLeaseOptions
{
    public const string Section = "Gateway:Budgets";

    /// <summary>The share of a key's budget one lease takes (at least one request's worst case). Smaller slices
    /// spread a budget more evenly over many gateways; larger ones mean fewer round trips.</summary>
    [Range(0.01, 1.0)]
    public double SliceFraction { get; set; } = 0.25;

    /// <summary>A key idle this long on this gateway gives back what it did not use of its leases.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan IdleReturn { get; set; } = TimeSpan.FromSeconds(2);
}

/// <summary>
/// Per-key budgets for the current window. Note: a request is admitted only if its worst-case cost fits what this
/// gateway has leased from the key's budget and neither spent nor held, and its actual cost never exceeds its hold.
/// Leases come from PostgreSQL (<see cref="LeasePools"/>), which never grants more than the budget in total, so all
/// gateways together never spend more than a key's budget (docs/scale-out.md states the bound).
/// </summary>
public sealed class BudgetLedger(LeasePools pools, IOptions<BudgetLeaseOptions> options, TimeProvider clock)
{
    private readonly LeaseBook _book = new(pools, LeasePools.ForKey, options, clock, capacityFromKey: true);

    public async ValueTask<(Hold? Hold, BudgetView View)> TryHoldAsync(ApiKey key, decimal worstCaseUsd, DateTimeOffset now, CancellationToken ct)
    {
        var window = WindowSchedule.At(now, key.WindowLength);
        var recorded = key.WindowStart == window.Start ? key.WindowSpentUsd : key.Pending is { } p && p.WindowStart == window.Start ? p.SpentUsd : 0m;
        var (taken, standing) = await _book.TryTakeAsync(
            key.Id, window, key.BudgetUsd, worstCaseUsd, key.BudgetUsd * (decimal)options.Value.SliceFraction, recorded, ct);
        return (taken ? new Hold(key.Id, standing.Window.Start, worstCaseUsd) : null, View(key, standing));
    }

    /// <summary>Turns a hold into spend: the actual cost is counted, the rest of the hold is released.</summary>
    public void Settle(Hold hold, decimal actualUsd) => _book.Settle(hold.KeyId, hold.WindowStart, hold.AmountUsd, actualUsd);

    public BudgetView View(ApiKey key, DateTimeOffset now) => View(key, _book.StandingIn(key.Id, WindowSchedule.At(now, key.WindowLength)));

    /// <summary>Gives back the unused part of leases on keys idle here (or of every key, at shutdown).</summary>
    public Task ReturnUnusedAsync(bool everything, CancellationToken ct) => _book.ReturnUnusedAsync(everything, ct);

    private static BudgetView View(ApiKey key, LeaseBook.Standing standing)
    {
        // Other gateways' spend reaches this one through billing (flushed every second): show whichever is larger.
        var recorded = key.WindowStart == standing.Window.Start ? key.WindowSpentUsd : 0m;
        return new BudgetView(key.BudgetUsd, Math.Max(standing.Spent, recorded), standing.Held, standing.Window);
    }
}
