using System.Collections.Concurrent;
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
    private static readonly TimeSpan RecheckSpent = TimeSpan.FromSeconds(1);
    private readonly ConcurrentDictionary<Guid, KeyBudget> _keys = new();
    private readonly ConcurrentQueue<(Guid Key, DateTimeOffset Window, decimal Unused)> _returns = new();

    public async ValueTask<(Hold? Hold, BudgetView View)> TryHoldAsync(ApiKey key, decimal worstCaseUsd, DateTimeOffset now, CancellationToken ct)
    {
        var budget = _keys.GetOrAdd(key.Id, _ => new KeyBudget());
        for (var attempt = 0; ; attempt++)
        {
            decimal missing;
            Window window;
            lock (budget)
            {
                window = Roll(budget, key, now);
                budget.LastActivity = now;
                if (key.BudgetUsd < budget.Limit && budget.Leased > budget.Spent + budget.Held)
                {
                    // The budget was lowered: slices leased under the old one go back, so the new one applies at
                    // once here (docs/scale-out.md: what is already held still runs).
                    _returns.Enqueue((key.Id, window.Start, budget.Leased - budget.Spent - budget.Held));
                    budget.Leased = budget.Spent + budget.Held;
                }

                budget.Limit = key.BudgetUsd;
                missing = budget.Spent + budget.Held + worstCaseUsd - budget.Leased;
                if (missing <= 0m)
                {
                    budget.Held += worstCaseUsd;
                    return (new Hold(key.Id, window.Start, worstCaseUsd), View(budget, key, window));
                }

                // A spent key is refused from memory; the pool is asked again at most once a second (a raised
                // budget, or allowance another gateway gave back), so refusals cost no round trip.
                if ((budget.Exhausted == window.Start && (attempt > 0 || now - budget.ExhaustedAt < RecheckSpent)) || attempt >= 3)
                {
                    return (null, View(budget, key, window));
                }
            }

            // One lease request per key at a time: requests that arrive meanwhile use what it brings back.
            await budget.Leasing.WaitAsync(ct);
            try
            {
                lock (budget)
                {
                    if (budget.WindowStart == window.Start && budget.Spent + budget.Held + worstCaseUsd <= budget.Leased)
                    {
                        continue;
                    }
                }

                var slice = Math.Max(missing, key.BudgetUsd * (decimal)options.Value.SliceFraction);
                var recorded = key.WindowStart == window.Start ? key.WindowSpentUsd : key.Pending is { } p && p.WindowStart == window.Start ? p.SpentUsd : 0m;
                var granted = await pools.GrantAsync(LeasePools.ForKey(key.Id), window.Start, key.BudgetUsd, slice, missing, recorded, ct);
                lock (budget)
                {
                    if (budget.WindowStart != window.Start)
                    {
                        _returns.Enqueue((key.Id, window.Start, granted));
                    }
                    else if (granted > 0m)
                    {
                        budget.Leased += granted;
                    }
                    else
                    {
                        budget.Exhausted = window.Start;
                        budget.ExhaustedAt = now;
                    }
                }
            }
            finally
            {
                budget.Leasing.Release();
            }
        }
    }

    /// <summary>Turns a hold into spend: the actual cost is counted, the rest of the hold is released.</summary>
    public void Settle(Hold hold, decimal actualUsd)
    {
        var budget = _keys.GetOrAdd(hold.KeyId, _ => new KeyBudget());
        lock (budget)
        {
            if (budget.WindowStart == hold.WindowStart)
            {
                budget.Held -= hold.AmountUsd;
                budget.Spent += Math.Min(actualUsd, hold.AmountUsd);
                budget.LastActivity = clock.GetUtcNow();
            }
        }
    }

    public BudgetView View(ApiKey key, DateTimeOffset now)
    {
        var budget = _keys.GetOrAdd(key.Id, _ => new KeyBudget());
        lock (budget)
        {
            return View(budget, key, Roll(budget, key, now));
        }
    }

    /// <summary>Gives back the unused part of leases on keys idle here (or of every key, at shutdown), so other
    /// gateways can use it. What could not be returned stays counted as used: allowance may be lost, never doubled.</summary>
    public async Task ReturnUnusedAsync(bool everything, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        foreach (var (keyId, budget) in _keys)
        {
            lock (budget)
            {
                var unused = budget.Leased - budget.Spent - budget.Held;
                if (unused > 0m && budget.Held == 0m && (everything || now - budget.LastActivity >= options.Value.IdleReturn))
                {
                    budget.Leased -= unused;
                    _returns.Enqueue((keyId, budget.WindowStart, unused));
                }
            }
        }

        // Note: taken off the queue before it is sent, so a return that committed but looked failed is never sent
        // twice (which would let the fleet lease the same allowance again); a failed return is lost allowance.
        while (_returns.TryDequeue(out var item))
        {
            await pools.ReturnAsync(LeasePools.ForKey(item.Key), item.Window, item.Unused, ct);
        }
    }

    private BudgetView View(KeyBudget budget, ApiKey key, Window window)
    {
        // Other gateways' spend reaches this one through billing (flushed every second): show whichever is larger.
        var recorded = key.WindowStart == window.Start ? key.WindowSpentUsd : 0m;
        return new BudgetView(key.BudgetUsd, Math.Max(budget.Spent, recorded), budget.Held, window);
    }

    /// <summary>Moves to the window that contains <paramref name="now"/>; what was leased and not used in the window
    /// that ended goes back to its pool (its row is no longer read, but the books stay right).</summary>
    private Window Roll(KeyBudget budget, ApiKey key, DateTimeOffset now)
    {
        var window = WindowSchedule.At(now, key.WindowLength);
        if (window.Start < budget.WindowStart && budget.WindowLength == key.WindowLength)
        {
            // A request that arrived just before a boundary and waited: it counts in the window that is open now,
            // never rolls the key back (which would forget what is held and spent in the current one).
            return new Window(budget.WindowStart, budget.WindowStart + key.WindowLength);
        }

        if (window.Start != budget.WindowStart)
        {
            if (budget.Leased - budget.Spent - budget.Held > 0m && budget.WindowStart != DateTimeOffset.MinValue)
            {
                _returns.Enqueue((key.Id, budget.WindowStart, budget.Leased - budget.Spent - budget.Held));
            }

            budget.WindowStart = window.Start;
            budget.WindowLength = key.WindowLength;
            budget.Held = 0m;
            budget.Spent = 0m;
            budget.Leased = 0m;
            budget.Exhausted = default;
        }

        return window;
    }

    private sealed class KeyBudget
    {
        public DateTimeOffset WindowStart { get; set; } = DateTimeOffset.MinValue;
        public TimeSpan WindowLength { get; set; }

        /// <summary>The key's budget when this gateway last leased for it.</summary>
        public decimal Limit { get; set; }

        /// <summary>What this gateway holds of the key's budget for the window.</summary>
        public decimal Leased { get; set; }
        public decimal Spent { get; set; }
        public decimal Held { get; set; }
        public DateTimeOffset LastActivity { get; set; }

        /// <summary>The window in which the pool last said nothing is left, and when.</summary>
        public DateTimeOffset Exhausted { get; set; }
        public DateTimeOffset ExhaustedAt { get; set; }

        public SemaphoreSlim Leasing { get; } = new(1, 1);
    }
}
