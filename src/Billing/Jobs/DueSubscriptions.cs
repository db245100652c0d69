using JasperFx;
using Lanes.Billing.Subscriptions;
using Marten;

namespace Lanes.Billing.Jobs;

/// <summary>Applies one of the clock's decisions about subscriptions (<see cref="SubscriptionDecisions"/>) to every
/// live subscription it is due for. Each is re-read and written with optimistic concurrency, so two servers running
/// the same job at once make each change once.</summary>
public sealed class DueSubscriptions(IDocumentStore store, TimeProvider clock, SubscriptionService subscriptions)
{
    /// <returns>How many subscriptions changed.</returns>
    public async Task<int> ApplyAsync(Func<Subscription, DateTimeOffset, object?> decide, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        var changed = 0;
        foreach (var due in (await LiveAsync(ct)).Where(s => decide(s, now) is not null))
        {
            try
            {
                if (await subscriptions.ApplyDueAsync(due.TenantId, decide, ct))
                {
                    changed++;
                }
            }
            catch (ConcurrencyException)
            {
                // Another runner applied it first.
            }
        }

        return changed;
    }

    private async Task<IReadOnlyList<Subscription>> LiveAsync(CancellationToken ct)
    {
        // There is one subscription per tenant, so reading the live ones and deciding in memory stays small.
        await using var query = store.QuerySession();
        return await query.Query<Subscription>()
            .Where(s => s.AnyTenant() && s.Status != SubscriptionStatus.Ended && s.Status != SubscriptionStatus.None)
            .ToListAsync(ct);
    }
}
