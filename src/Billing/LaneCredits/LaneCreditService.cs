using System.Globalization;
using JasperFx;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Shared.Plans;
using Marten;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.LaneCredits;

/// <summary>
/// Service credits for the lane promise: judges each ended billing period once and credits what it earned (in Stripe
/// mode onto the customer's balance, for the next invoice; in internal mode in the subscription's history), and lets
/// staff grant or reverse a credit with a reason. Every step is idempotent: a period is judged by one event that
/// removes it from the subscription's list, written with optimistic concurrency, and Stripe's idempotency key is
/// the credit's own id.
/// </summary>
public sealed class LaneCreditService(
    IDocumentStore store,
    SubscriptionService subscriptions,
    LanePromiseFigures figures,
    PlanCatalog plans,
    BillingModeInfo mode,
    StripeBilling stripe,
    IOptions<LaneCreditOptions> options,
    TimeProvider clock)
{
    /// <summary>Judges every ended period whose usage has settled.</summary>
    /// <returns>How many periods were judged now (credited or not).</returns>
    public async Task<int> AssessEndedPeriodsAsync(CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var settledBy = now - options.Value.SettleDelay;
        IReadOnlyList<Subscription> candidates;
        await using (var query = store.QuerySession())
        {
            // One subscription per tenant, so reading them and choosing in memory stays small (as the other jobs do).
            candidates = await query.Query<Subscription>().Where(s => s.AnyTenant()).ToListAsync(ct);
        }

        var judged = 0;
        foreach (var subscription in candidates)
        {
            foreach (var period in subscription.PeriodsToAssess.Where(p => p.End <= settledBy).ToList())
            {
                try
                {
                    judged += await AssessAsync(subscription, period, now, ct) ? 1 : 0;
                }
                catch (ConcurrencyException)
                {
                    // Another runner judged it first.
                }
            }
        }

        return judged;
    }

    private async Task<bool> AssessAsync(Subscription subscription, EndedPeriod period, DateTimeOffset now, CancellationToken ct)
    {
        var plan = plans.Find(period.PlanId);
        var (from, to) = period.Hours;
        var assessed = LaneCreditDecisions.Assess(
            subscription.TenantId, period, await figures.ForTenantAsync(subscription.TenantId, from, to, ct),
            plan?.Slo ?? LaneSlo.Default, plan?.MonthlyPriceUsd ?? 0m, now);
        if (assessed.CreditUsd > 0 && mode.Mode == BillingMode.Stripe && subscription.StripeCustomerId is { } customer)
        {
            var description = string.Create(CultureInfo.InvariantCulture,
                $"Lanes service credit: {assessed.HonouredPercent:0.###}% of reserved-lane requests started on time from {period.Start:yyyy-MM-dd} to {period.End:yyyy-MM-dd} (objective {assessed.TargetPercent:0.###}%)");
            var transaction = await stripe.CreditBalanceAsync(customer, assessed.CreditUsd, description, $"lane-credit-{assessed.CreditId:N}",
                new() { ["tenant_id"] = subscription.TenantId.ToString(), ["credit_id"] = assessed.CreditId.ToString(), ["period_start"] = period.Start.ToString("O", CultureInfo.InvariantCulture) },
                ct);
            assessed = assessed with { StripeBalanceTransactionId = transaction };
        }

        var written = false;
        await subscriptions.RecordAsync(subscription.TenantId, s =>
        {
            written = s is not null && s.PeriodsToAssess.Any(p => p.Start == period.Start);
            return written ? [assessed] : [];
        }, ct);
        return written;
    }

    /// <summary>Staff credit the customer by hand (Stripe mode: onto their balance for the next invoice).</summary>
    public async Task<ServiceCreditGranted> GrantAsync(Guid tenantId, decimal amountUsd, string reason, string staffId, Guid commandId, CancellationToken ct = default)
    {
        if (amountUsd is <= 0 or > 100_000)
        {
            throw new RuleViolation("invalid_credit", "A credit is more than $0 and at most $100,000.");
        }

        reason = RequireReason(reason);
        var subscription = await subscriptions.FindAsync(tenantId, ct) ?? throw new NotFound("Subscription");
        string? transaction = null;
        if (mode.Mode == BillingMode.Stripe && subscription.StripeCustomerId is { } customer)
        {
            transaction = await stripe.CreditBalanceAsync(customer, amountUsd, $"Lanes service credit: {reason}", $"service-credit-{commandId:N}",
                new() { ["tenant_id"] = tenantId.ToString(), ["credit_id"] = commandId.ToString(), ["staff"] = staffId }, ct);
        }

        var granted = new ServiceCreditGranted(tenantId, commandId, Math.Round(amountUsd, 2), reason, staffId, transaction, clock.GetUtcNow());
        await subscriptions.RecordAsync(tenantId, s => s?.Credits.Any(c => c.Id == commandId) == true ? [] : [granted], ct);
        return granted;
    }

    /// <summary>Staff take a credit back (Stripe mode: the customer's balance is debited by as much).</summary>
    public async Task<ServiceCreditReversed> ReverseAsync(Guid tenantId, Guid creditId, string reason, string staffId, CancellationToken ct = default)
    {
        reason = RequireReason(reason);
        var subscription = await subscriptions.FindAsync(tenantId, ct) ?? throw new NotFound("Subscription");
        var credit = subscription.Credits.FirstOrDefault(c => c.Id == creditId) ?? throw new NotFound("Credit");
        if (credit.Reversed)
        {
            throw new RuleViolation("already_reversed", $"That credit was reversed on {credit.ReversedAt:d MMM yyyy}.");
        }

        string? transaction = null;
        if (mode.Mode == BillingMode.Stripe && subscription.StripeCustomerId is { } customer && credit.StripeBalanceTransactionId is not null)
        {
            transaction = await stripe.CreditBalanceAsync(customer, -credit.AmountUsd, $"Lanes service credit reversed: {reason}", $"service-credit-reversal-{creditId:N}",
                new() { ["tenant_id"] = tenantId.ToString(), ["credit_id"] = creditId.ToString(), ["staff"] = staffId }, ct);
        }

        var reversed = new ServiceCreditReversed(tenantId, creditId, credit.AmountUsd, reason, staffId, transaction, clock.GetUtcNow());
        await subscriptions.RecordAsync(tenantId, s => s?.Credits.FirstOrDefault(c => c.Id == creditId) is { Reversed: false } ? [reversed] : [], ct);
        return reversed;
    }

    private static string RequireReason(string reason) =>
        string.IsNullOrWhiteSpace(reason) || reason.Trim().Length > 500
            ? throw new RuleViolation("reason_required", "Say why, in 1 to 500 characters: the customer's history shows it.")
            : reason.Trim();
}
