using System.Collections.Concurrent;
using Lanes.Billing.Keys;
using Lanes.Shared.Windows;

namespace Lanes.Inference.Budgets;

/// <summary>Money set aside for one running request: its worst case, settled to the actual cost when it ends.</summary>
public sealed record Hold(Guid KeyId, DateTimeOffset WindowStart, decimal AmountUsd);

/// <summary>Where a key stands in its current window, as the gateway counts it.</summary>
public readonly record struct BudgetView(decimal LimitUsd, decimal SpentUsd, decimal HeldUsd, Window Window)
{
    public decimal RemainingUsd => Math.Max(0m, LimitUsd - SpentUsd - HeldUsd);
}

/// <summary>
/// Per-key budgets for the current window, in memory. Note: a request is admitted only if its worst-case cost fits
/// what is neither spent nor held, and its actual cost never exceeds its hold, so one node never overspends a budget.
/// </summary>
public sealed class BudgetLedger
{
    private readonly ConcurrentDictionary<Guid, KeyBudget> _keys = new();

    public bool TryHold(ApiKey key, decimal worstCaseUsd, DateTimeOffset now, out Hold? hold, out BudgetView view)
    {
        var budget = _keys.GetOrAdd(key.Id, _ => new KeyBudget());
        lock (budget)
        {
            var window = budget.Roll(key, now);
            if (budget.Spent + budget.Held + worstCaseUsd > key.BudgetUsd)
            {
                hold = null;
                view = new BudgetView(key.BudgetUsd, budget.Spent, budget.Held, window);
                return false;
            }

            budget.Held += worstCaseUsd;
            hold = new Hold(key.Id, window.Start, worstCaseUsd);
            view = new BudgetView(key.BudgetUsd, budget.Spent, budget.Held, window);
            return true;
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
            }
        }
    }

    public BudgetView View(ApiKey key, DateTimeOffset now)
    {
        var budget = _keys.GetOrAdd(key.Id, _ => new KeyBudget());
        lock (budget)
        {
            var window = budget.Roll(key, now);
            return new BudgetView(key.BudgetUsd, budget.Spent, budget.Held, window);
        }
    }

    private sealed class KeyBudget
    {
        public DateTimeOffset WindowStart { get; private set; } = DateTimeOffset.MinValue;
        public decimal Spent { get; set; }
        public decimal Held { get; set; }

        /// <summary>Moves to the window that contains <paramref name="now"/>. A window ends at its boundary to the
        /// second, whether or not the window job has recorded the close yet. The first time a window is seen, the
        /// spend billing already recorded for it is the starting point.</summary>
        public Window Roll(ApiKey key, DateTimeOffset now)
        {
            var window = WindowSchedule.At(now, key.WindowLength);
            if (window.Start != WindowStart)
            {
                WindowStart = window.Start;
                Held = 0m;
                Spent = key.WindowStart == window.Start ? key.WindowSpentUsd
                    : key.Pending is { } p && p.WindowStart == window.Start ? p.SpentUsd
                    : 0m;
            }

            return window;
        }
    }
}
