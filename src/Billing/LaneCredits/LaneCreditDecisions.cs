using System.Security.Cryptography;
using System.Text;
using Lanes.Shared.Plans;

namespace Lanes.Billing.LaneCredits;

/// <summary>What a period's lane promise earns, decided from its figures alone (pure, so tests state the rule).</summary>
public static class LaneCreditDecisions
{
    /// <summary>Judges an ended period: the credit is the largest tier's share of the monthly fee that the honoured
    /// share falls under, in whole cents; a period with nothing within reservation earns nothing.</summary>
    public static LanePeriodAssessed Assess(Guid tenantId, EndedPeriod period, PromiseFigures figures, LaneSlo slo, decimal monthlyFeeUsd, DateTimeOffset now)
    {
        var creditPercent = figures.HonouredPercent is { } honoured ? slo.CreditPercentFor(honoured) : 0;
        var credit = Math.Round(monthlyFeeUsd * (decimal)creditPercent / 100m, 2, MidpointRounding.ToZero);
        return new LanePeriodAssessed(
            tenantId, CreditIdOf(tenantId, period.Start), period.Start, period.End, period.PlanId, figures.WithinReservation, figures.Honoured,
            slo.TargetPercent, credit > 0 ? creditPercent : 0, monthlyFeeUsd, credit, null, now);
    }

    /// <summary>One credit id per tenant and period, whoever computes it: Stripe's idempotency key is made from it,
    /// so a job that dies after paying and before writing pays nothing twice when it runs again.</summary>
    public static Guid CreditIdOf(Guid tenantId, DateTimeOffset periodStart)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"lane-credit:{tenantId:N}:{periodStart.UtcTicks}"));
        return new Guid(hash.AsSpan(0, 16));
    }
}
