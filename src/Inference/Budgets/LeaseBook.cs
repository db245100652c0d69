using System.Collections.Concurrent;
using Lanes.Billing.Leases;
using Lanes.Shared.Windows;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Budgets;

/// <summary>
/// One gateway's accounts against per-window allowances kept in PostgreSQL (<see cref="LeasePools"/>): a request
/// takes from what this gateway leased; when that is short, one lease request per account asks the pool for a slice;
/// what an idle account did not use goes back. Key budgets (dollars) and tenants' requests per window (counts) are
/// both kept in books like this.
/// </summary>
/// <remarks>
/// Note: the pool never grants past its capacity and an account never takes past what it leased, so all gateways
/// together stay within the allowance. Returns are sent at most once; allowance may be lost, never granted twice.
/// </remarks>
/// <param name="capacityFromKey">Key budgets: the pool caps every grant at the key's budget as the database has it.</param>
public sealed class LeaseBook(LeasePools pools, Func<Guid, string> poolOf, IOptions<BudgetLeaseOptions> options, TimeProvider clock, bool capacityFromKey = false)
{
    /// <summary>A spent account is refused from memory; the pool is asked again at most this often (a raised
    /// allowance, or allowance another gateway gave back), so refusals cost no round trip.</summary>
    private static readonly TimeSpan RecheckSpent = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<Guid, Account> _accounts = new();
    private readonly ConcurrentQueue<(Guid Id, DateTimeOffset Window, decimal Unused)> _returns = new();

    /// <summary>Where an account stands in the window it is in.</summary>
    public readonly record struct Standing(Window Window, decimal Spent, decimal Held);

    /// <summary>Takes <paramref name="amount"/> as held, leasing a slice of at least <paramref name="slice"/> when
    /// this gateway has too little. <paramref name="capacity"/> is the allowance now; <paramref name="alreadyUsed"/>
    /// seeds a window first leased after usage was recorded without leases.</summary>
    /// <returns>Whether it was taken, and the account after.</returns>
    public async ValueTask<(bool Taken, Standing Standing)> TryTakeAsync(
        Guid id, Window window, decimal capacity, decimal amount, decimal slice, decimal alreadyUsed, CancellationToken ct)
    {
        var account = _accounts.GetOrAdd(id, _ => new Account());
        for (var attempt = 0; ; attempt++)
        {
            var now = clock.GetUtcNow();
            decimal missing;
            lock (account)
            {
                window = Roll(id, account, window);
                account.LastActivity = now;
                if (capacity < account.Capacity && account.Leased > account.Spent + account.Held)
                {
                    // The allowance was lowered: slices leased under the old one go back, so the new one applies
                    // here at once (what is already held still runs).
                    _returns.Enqueue((id, window.Start, account.Leased - account.Spent - account.Held));
                    account.Leased = account.Spent + account.Held;
                }

                account.Capacity = capacity;
                missing = account.Spent + account.Held + amount - account.Leased;
                if (missing <= 0m)
                {
                    account.Held += amount;
                    return (true, StandingOf(account));
                }

                if ((account.SpentWindow == window.Start && (attempt > 0 || now - account.SpentAt < RecheckSpent)) || attempt >= 3)
                {
                    return (false, StandingOf(account));
                }
            }

            await account.Leasing.WaitAsync(ct);
            try
            {
                lock (account)
                {
                    if (account.Window.Start == window.Start && account.Spent + account.Held + amount <= account.Leased)
                    {
                        continue;
                    }
                }

                var granted = await pools.GrantAsync(poolOf(id), window.Start, capacity, Math.Max(missing, slice), missing, alreadyUsed, capacityFromKey ? id : null, ct);
                lock (account)
                {
                    if (account.Window.Start != window.Start)
                    {
                        _returns.Enqueue((id, window.Start, granted));
                    }
                    else if (granted > 0m)
                    {
                        account.Leased += granted;
                    }
                    else
                    {
                        account.SpentWindow = window.Start;
                        account.SpentAt = now;
                    }
                }
            }
            finally
            {
                account.Leasing.Release();
            }
        }
    }

    /// <summary>Ends a take: <paramref name="used"/> (at most what was held) is spent, the rest released.</summary>
    public void Settle(Guid id, DateTimeOffset windowStart, decimal held, decimal used)
    {
        var account = _accounts.GetOrAdd(id, _ => new Account());
        lock (account)
        {
            if (account.Window.Start == windowStart)
            {
                account.Held -= held;
                account.Spent += Math.Min(used, held);
                account.LastActivity = clock.GetUtcNow();
            }
        }
    }

    /// <summary>Gives back something spent that did not happen after all (a counted request refused later).</summary>
    public void Refund(Guid id, DateTimeOffset windowStart, decimal amount)
    {
        var account = _accounts.GetOrAdd(id, _ => new Account());
        lock (account)
        {
            if (account.Window.Start == windowStart)
            {
                account.Spent = Math.Max(0m, account.Spent - amount);
            }
        }
    }

    public Standing StandingIn(Guid id, Window window)
    {
        var account = _accounts.GetOrAdd(id, _ => new Account());
        lock (account)
        {
            Roll(id, account, window);
            return StandingOf(account);
        }
    }

    /// <summary>Every account's standing in the window it was last used in.</summary>
    public IReadOnlyList<(Guid Id, Standing Standing)> Accounts()
    {
        var all = new List<(Guid, Standing)>();
        foreach (var (id, account) in _accounts)
        {
            lock (account)
            {
                all.Add((id, StandingOf(account)));
            }
        }

        return all;
    }

    /// <summary>Gives back what accounts idle here (or all, at shutdown) leased and did not use.</summary>
    public async Task ReturnUnusedAsync(bool everything, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        foreach (var (id, account) in _accounts)
        {
            lock (account)
            {
                var unused = account.Leased - account.Spent - account.Held;
                if (unused > 0m && account.Held == 0m && (everything || now - account.LastActivity >= options.Value.IdleReturn))
                {
                    account.Leased -= unused;
                    _returns.Enqueue((id, account.Window.Start, unused));
                }
            }
        }

        // Note: taken off the queue before it is sent, so a return that committed but looked failed is never sent
        // twice (which would let the fleet lease the same allowance again); a failed return is lost allowance.
        while (_returns.TryDequeue(out var item))
        {
            await pools.ReturnAsync(poolOf(item.Id), item.Window, item.Unused, ct);
        }
    }

    private static Standing StandingOf(Account account) => new(account.Window, account.Spent, account.Held);

    /// <summary>Moves the account forward to <paramref name="window"/>, giving back what the window that ended left
    /// unused. Never backwards: a request that waited across a boundary counts in the window open now.</summary>
    private Window Roll(Guid id, Account account, Window window)
    {
        if (window.Start <= account.Window.Start)
        {
            return account.Window;
        }

        if (account.Leased - account.Spent - account.Held > 0m && account.Window.Start != DateTimeOffset.MinValue)
        {
            _returns.Enqueue((id, account.Window.Start, account.Leased - account.Spent - account.Held));
        }

        account.Window = window;
        account.Held = 0m;
        account.Spent = 0m;
        account.Leased = 0m;
        account.SpentWindow = default;
        return window;
    }

    private sealed class Account
    {
        public Window Window { get; set; } = new(DateTimeOffset.MinValue, DateTimeOffset.MinValue);

        /// <summary>What this gateway holds of the pool for the window.</summary>
        public decimal Leased { get; set; }
        public decimal Spent { get; set; }
        public decimal Held { get; set; }

        /// <summary>The allowance when this gateway last took from it.</summary>
        public decimal Capacity { get; set; }

        public DateTimeOffset LastActivity { get; set; }

        /// <summary>The window in which the pool last had nothing left, and when.</summary>
        public DateTimeOffset SpentWindow { get; set; }
        public DateTimeOffset SpentAt { get; set; }

        public SemaphoreSlim Leasing { get; } = new(1, 1);
    }
}
