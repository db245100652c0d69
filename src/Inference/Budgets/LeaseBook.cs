using System.Collections.Concurrent;
using Lanes.Billing.GatewayContract;
using Lanes.Billing.Leases;
using Lanes.Shared.Windows;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Budgets;

/// <summary>
/// One gateway's accounts against per-window allowances kept in PostgreSQL (<see cref="ILeasePools"/>): a request
/// takes from what this gateway leased; when that is short, one lease request per account asks the pool for a slice;
/// what an idle account did not use goes back. Key budgets (dollars) and tenants' requests per window (counts) are
/// both kept in books like this.
/// </summary>
/// <remarks>
/// Note: the pool never grants past its capacity, and an account never spends past what it leased nor past its
/// ceiling (what the database knows it may spend: what it had spent and held at its last renewal plus a headroom),
/// so all gateways together stay within the allowance, and what a dead gateway held above its ceiling can be given
/// back by the survivors without ever being granted twice. Everything that changes what this gateway holds of an
/// account (a grant, a ceiling raised on demand, a return) runs one at a time per account, so the database's row and
/// this account agree; returns say what to keep, so sending one twice gives back once.
/// </remarks>
/// <param name="holder">This process's name on its leases (<see cref="Infrastructure.GatewayNode.Holder"/>).</param>
/// <param name="capacityFromKey">Key budgets: the pool caps every grant at the key's budget as the database has it.</param>
/// <param name="circuit">Bounds the database calls a request waits on, and refuses them at once after one failed.</param>
public sealed class LeaseBook(
    ILeasePools pools, LeaseCircuit circuit, string holder, Func<Guid, string> poolOf, IOptions<BudgetLeaseOptions> options, TimeProvider clock,
    bool capacityFromKey = false)
{
    /// <summary>A spent account is refused from memory; the pool is asked again at most this often (a raised
    /// allowance, or allowance another gateway gave back), so refusals cost no round trip.</summary>
    private static readonly TimeSpan RecheckSpent = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<Guid, Account> _accounts = new();

    /// <summary>Leases of windows an account has left behind, to be cut to what was committed in them.</summary>
    private readonly ConcurrentQueue<(Guid Id, DateTimeOffset Window, decimal Keep)> _ended = new();

    /// <summary>Where an account stands in the window it is in.</summary>
    public readonly record struct Standing(Window Window, decimal Spent, decimal Held);

    /// <summary>Takes <paramref name="amount"/> as held, leasing a slice of at least <paramref name="slice"/> when
    /// this gateway has too little. <paramref name="capacity"/> is the allowance now; <paramref name="headroom"/> how
    /// far past what it has committed this gateway may spend without telling the database; <paramref name="alreadyUsed"/>
    /// seeds a window first leased after usage was recorded without leases.</summary>
    /// <returns>Whether it was taken, and the account after.</returns>
    public async ValueTask<(bool Taken, Standing Standing)> TryTakeAsync(
        Guid id, Window window, decimal capacity, decimal amount, decimal slice, decimal headroom, decimal alreadyUsed, CancellationToken ct)
    {
        var account = _accounts.GetOrAdd(id, _ => new Account());
        for (var attempt = 0; ; attempt++)
        {
            var now = clock.GetUtcNow();
            decimal missing, needed;
            lock (account)
            {
                if (account.Forgotten)
                {
                    // Taken out of the book (its window ended) after this take looked it up: look it up again.
                    goto again;
                }

                window = Roll(id, account, window);
                account.LastActivity = now;
                account.Headroom = headroom;
                account.Reserve = Math.Max(account.Reserve, amount);
                if (capacity < account.Capacity && account.Leased > account.Committed)
                {
                    // The allowance was lowered: slices leased under the old one go back (with the next return), so
                    // the new one applies here at once (what is already held still runs).
                    account.Leased = account.Committed;
                    account.GiveBack = true;
                }

                account.Capacity = capacity;
                needed = account.Committed + amount;
                missing = needed - account.Leased;
                if (needed <= Math.Min(account.Leased, account.Ceiling))
                {
                    account.Held += amount;
                    return (true, StandingOf(account));
                }

                if (attempt >= 3 || (missing > 0m && account.SpentWindow == window.Start && (attempt > 0 || now - account.SpentAt < RecheckSpent)))
                {
                    return (false, StandingOf(account));
                }
            }

            await RefillAsync(id, account, window, capacity, amount, slice, headroom, alreadyUsed, now, ct);
            continue;
        again:
            account = _accounts.GetOrAdd(id, _ => new Account());
        }
    }

    /// <summary>The slow part of a take, one at a time per account: the ceiling raised, or more leased from the pool
    /// (after giving back what a lowered allowance frees). Kept out of <see cref="TryTakeAsync"/> so that a take
    /// served from what is already leased allocates nothing (the lambdas here capture their arguments).</summary>
    private async Task RefillAsync(
        Guid id, Account account, Window window, decimal capacity, decimal amount, decimal slice, decimal headroom, decimal alreadyUsed,
        DateTimeOffset now, CancellationToken ct)
    {
        decimal missing, needed;
        await account.Changing.WaitAsync(ct);
        try
        {
            lock (account)
            {
                if (account.Forgotten || (account.Window.Start == window.Start && account.Committed + amount <= Math.Min(account.Leased, account.Ceiling)))
                {
                    return;
                }

                needed = account.Committed + amount;
                missing = needed - account.Leased;
            }

            if (missing <= 0m)
            {
                // Leased enough, but past what the database knows this gateway may spend: raise the ceiling first.
                var renewed = await circuit.CallAsync(
                    c => pools.RenewAsync(holder, [new LeaseRenewal(poolOf(id), window.Start, needed + headroom)], c), ct);
                lock (account)
                {
                    if (account.Window.Start == window.Start)
                    {
                        var lease = renewed.FirstOrDefault();
                        account.Ceiling = lease.Ceiling;
                        account.Leased = Math.Min(account.Leased, lease.Held); // less when survivors took back a part
                    }
                }

                return;
            }

            if (PendingReturn(account) is { } back)
            {
                // A lowered allowance gives back first, so what it frees (here and in the pool) can be granted now
                // rather than after the next round of returns.
                await circuit.CallAsync(async c =>
                {
                    await pools.ReleaseAsync(poolOf(id), back.Window, holder, back.Keep, c);
                    return true;
                }, ct);
                Returned(account, back.Keep);
            }

            var grant = await circuit.CallAsync(c => pools.GrantAsync(
                poolOf(id), window.Start, holder, capacity, Math.Max(missing, slice), missing, needed + headroom, alreadyUsed, capacityFromKey ? id : null, c), ct);
            lock (account)
            {
                if (account.Window.Start != window.Start)
                {
                    // The account moved on while this grant was in flight: that window keeps what it had.
                    if (grant.Granted > 0m)
                    {
                        _ended.Enqueue((id, window.Start, grant.Held - grant.Granted));
                    }
                }
                else if (grant.Granted > 0m)
                {
                    // Less than local + granted when survivors took back a part of this gateway's lease.
                    account.Leased = Math.Min(account.Leased + grant.Granted, grant.Held);
                    account.Ceiling = grant.Ceiling;
                    account.PoolWasShort = grant.Left < slice;
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
            account.Changing.Release();
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
        if (!_accounts.TryGetValue(id, out var account))
        {
            return new Standing(window, 0m, 0m);
        }

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

    /// <summary>This gateway's heartbeat on its leases: raises the ceiling of every account that spent into its
    /// headroom back to what it has committed plus the headroom, so a leased key keeps serving from memory for that
    /// much if the database goes away.</summary>
    public async Task RenewAsync(CancellationToken ct)
    {
        var wanted = new List<LeaseRenewal>();
        var accounts = new Dictionary<(string Pool, DateTimeOffset Window), Account>();
        foreach (var (id, account) in _accounts)
        {
            lock (account)
            {
                var spendable = Math.Min(account.Leased, account.Committed + account.Headroom);
                if (spendable > account.Ceiling)
                {
                    var renewal = new LeaseRenewal(poolOf(id), account.Window.Start, spendable);
                    wanted.Add(renewal);
                    accounts[(renewal.Pool, renewal.WindowStart)] = account;
                }
            }
        }

        // Sent every round even with nothing to raise: it is also the heartbeat that keeps survivors from reclaiming.
        foreach (var lease in await pools.RenewAsync(holder, wanted, ct))
        {
            if (accounts.TryGetValue((lease.Pool, lease.WindowStart), out var account))
            {
                lock (account)
                {
                    // Only ever raised here: lowering (a return) and learning of a reclaim happen one at a time with grants.
                    if (account.Window.Start == lease.WindowStart)
                    {
                        account.Ceiling = Math.Max(account.Ceiling, Math.Min(lease.Ceiling, account.Leased));
                    }
                }
            }
        }
    }

    /// <summary>Gives back what accounts idle here (or all, at shutdown) leased and did not use, and what ended
    /// windows left; forgets accounts whose window has ended with nothing left to give back.</summary>
    /// <remarks>Note: an account idle a moment gives back only where it could matter: its pool was short when it
    /// last leased (less than a slice left for anyone else), or another gateway has since been refused from it
    /// (<see cref="ILeasePools.WantedAsync"/>, one query a round). Otherwise what it holds is kept until
    /// <see cref="BudgetLeaseOptions.IdleRelease"/>: giving back and leasing again cost a round trip each, and with
    /// many tenants sending now and then that churn, not the requests, was what loaded the database.</remarks>
    public async Task ReturnUnusedAsync(bool everything, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var wanted = everything ? null : await WantedPoolsAsync(now, ct);
        foreach (var (id, account) in _accounts)
        {
            // An account busy leasing is left for the next round rather than waited for.
            if (!account.Changing.Wait(0, CancellationToken.None))
            {
                continue;
            }

            try
            {
                lock (account)
                {
                    if (account.Held == 0m && account.Window.End <= now && account.Leased <= account.Committed && !account.GiveBack)
                    {
                        account.Forgotten = true;
                        _accounts.TryRemove(new KeyValuePair<Guid, Account>(id, account));
                        continue;
                    }

                    // Idle a little where another gateway may need it: keep one request's worth, so the key's next
                    // request here needs no database. Idle long (or stopping): give back everything not spent.
                    var idleFor = now - account.LastActivity;
                    var needed = account.PoolWasShort || (wanted?.Contains((poolOf(id), account.Window.Start)) ?? false);
                    if (account.Held == 0m && (everything || idleFor >= options.Value.IdleRelease || (idleFor >= options.Value.IdleReturn && needed)))
                    {
                        var keep = everything || idleFor >= options.Value.IdleRelease
                            ? account.Committed
                            : Math.Min(account.Leased, account.Committed + account.Reserve);
                        if (account.Leased > keep)
                        {
                            account.Leased = keep;
                            account.GiveBack = true;
                        }
                    }
                }

                if (PendingReturn(account) is { } back)
                {
                    await pools.ReleaseAsync(poolOf(id), back.Window, holder, back.Keep, ct);
                    Returned(account, back.Keep);
                }
            }
            finally
            {
                account.Changing.Release();
            }
        }

        // A return that failed stays queued: it says what to keep, so sending it again gives back once.
        var count = _ended.Count;
        for (var i = 0; i < count && _ended.TryPeek(out var item); i++)
        {
            await pools.ReleaseAsync(poolOf(item.Id), item.Window, holder, item.Keep, ct);
            _ended.TryDequeue(out _);
        }
    }

    /// <summary>The pools other gateways were refused from lately, asked only when an account here is idle on a
    /// surplus it would otherwise keep; null when none is (no query).</summary>
    private async Task<HashSet<(string, DateTimeOffset)>?> WantedPoolsAsync(DateTimeOffset now, CancellationToken ct)
    {
        var anyKept = false;
        foreach (var (_, account) in _accounts)
        {
            lock (account)
            {
                var idleFor = now - account.LastActivity;
                anyKept |= account.Held == 0m && !account.PoolWasShort && account.Leased > account.Committed + account.Reserve
                           && idleFor >= options.Value.IdleReturn && idleFor < options.Value.IdleRelease;
            }

            if (anyKept)
            {
                break;
            }
        }

        return anyKept ? [.. await pools.WantedAsync(holder, WantedLately, ct)] : null;
    }

    /// <summary>How long a refusal from a pool makes its idle holders give back: a few keeper rounds.</summary>
    private static readonly TimeSpan WantedLately = TimeSpan.FromSeconds(5);

    private static Standing StandingOf(Account account) => new(account.Window, account.Spent, account.Held);

    /// <summary>What the account has to tell the database it keeps, if it lowered what it leases; the caller holds
    /// <see cref="Account.Changing"/>. The ceiling comes down with it: nothing above what is kept may be spent.</summary>
    private static (DateTimeOffset Window, decimal Keep)? PendingReturn(Account account)
    {
        lock (account)
        {
            if (!account.GiveBack)
            {
                return null;
            }

            account.Ceiling = Math.Min(account.Ceiling, account.Leased);
            return (account.Window.Start, account.Leased);
        }
    }

    /// <summary>The database has been told; a lowering that came meanwhile (a smaller keep) is still to be sent.</summary>
    private static void Returned(Account account, decimal kept)
    {
        lock (account)
        {
            account.GiveBack = account.Leased < kept;
        }
    }

    /// <summary>Moves the account forward to <paramref name="window"/>; the window that ended keeps what was
    /// committed in it and gives back the rest. Never backwards: a request that waited across a boundary counts in
    /// the window open now.</summary>
    private Window Roll(Guid id, Account account, Window window)
    {
        if (window.Start <= account.Window.Start)
        {
            return account.Window;
        }

        if (account.Leased > account.Committed && account.Window.Start != DateTimeOffset.MinValue)
        {
            _ended.Enqueue((id, account.Window.Start, account.Committed));
        }

        account.Window = window;
        account.Held = 0m;
        account.Spent = 0m;
        account.Leased = 0m;
        account.Ceiling = 0m;
        account.GiveBack = false;
        account.PoolWasShort = false;
        account.SpentWindow = default;
        return window;
    }

    private sealed class Account
    {
        public Window Window { get; set; } = new(DateTimeOffset.MinValue, DateTimeOffset.MinValue);

        /// <summary>What this gateway holds of the pool for the window.</summary>
        public decimal Leased { get; set; }

        /// <summary>How much of it the database knows this gateway may spend.</summary>
        public decimal Ceiling { get; set; }

        public decimal Spent { get; set; }
        public decimal Held { get; set; }
        public decimal Committed => Spent + Held;

        /// <summary>How far past what it has committed the account may go without a renewal.</summary>
        public decimal Headroom { get; set; }

        /// <summary>The allowance when this gateway last took from it.</summary>
        public decimal Capacity { get; set; }

        /// <summary>Leased was lowered here and the database has not been told yet.</summary>
        public bool GiveBack { get; set; }

        /// <summary>The pool had less than a slice left after this gateway's last grant: others may need what it holds.</summary>
        public bool PoolWasShort { get; set; }

        /// <summary>Taken out of the book (its window ended): a take that still had it looks it up again.</summary>
        public bool Forgotten { get; set; }

        public DateTimeOffset LastActivity { get; set; }

        /// <summary>The largest single take (one request's worst case, or one request): what an idle account keeps.</summary>
        public decimal Reserve { get; set; }

        /// <summary>The window in which the pool last had nothing left, and when.</summary>
        public DateTimeOffset SpentWindow { get; set; }
        public DateTimeOffset SpentAt { get; set; }

        /// <summary>One change to what this gateway holds of the account at a time.</summary>
        public SemaphoreSlim Changing { get; } = new(1, 1);
    }
}
