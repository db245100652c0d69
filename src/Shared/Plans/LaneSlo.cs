namespace Lanes.Shared.Plans;

/// <summary>
/// The lane promise a plan makes, and what Lanes pays when a billing period falls short of it. A request sent while
/// its tenant had fewer requests running, fleet-wide, than its reserved lanes is <em>within reservation</em>; it is
/// <em>honoured</em> when it started within <see cref="AdmissionTarget"/>. The period's honoured share of its
/// within-reservation requests is held against <see cref="TargetPercent"/>; below it, the customer is credited the
/// largest tier's share of the monthly fee that the figure falls under.
/// </summary>
/// <param name="AdmissionTarget">How soon a within-reservation request must start to count as honoured.</param>
/// <param name="TargetPercent">The monthly objective: this share of within-reservation requests honoured.</param>
/// <param name="Credits">Credit tiers: below <see cref="SloCreditTier.BelowPercent"/> honoured, that share of the fee.</param>
public sealed record LaneSlo(TimeSpan AdmissionTarget, double TargetPercent, IReadOnlyList<SloCreditTier> Credits)
{
    /// <summary>250 ms; 99.9 %; 10 % of the fee below 99.9 %, 25 % below 99 %, 50 % below 95 %.</summary>
    public static LaneSlo Default { get; } = new(TimeSpan.FromMilliseconds(250), 99.9, [new(99.9, 10), new(99, 25), new(95, 50)]);

    /// <summary>The share of the monthly fee a period earns back with <paramref name="honouredPercent"/> of its
    /// within-reservation requests honoured: the largest tier it falls under, or 0.</summary>
    public double CreditPercentFor(double honouredPercent) =>
        Credits.Where(t => honouredPercent < t.BelowPercent).Select(t => t.CreditPercent).DefaultIfEmpty(0).Max();
}

/// <summary>A period honoured below <paramref name="BelowPercent"/> earns <paramref name="CreditPercent"/> of the monthly fee.</summary>
public sealed record SloCreditTier(double BelowPercent, double CreditPercent);
