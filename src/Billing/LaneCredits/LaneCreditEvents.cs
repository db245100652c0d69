namespace Lanes.Billing.LaneCredits;

/// <summary>
/// A billing period's lane promise, judged once after it ended (on the tenant's subscription stream): how many of its
/// requests were within reservation, how many of those were honoured, against the plan's objective, and the service
/// credit that earned: <paramref name="CreditPercent"/> of <paramref name="MonthlyFeeUsd"/>, zero when the objective
/// was met. In Stripe mode a credit is a customer balance transaction (<paramref name="StripeBalanceTransactionId"/>)
/// that Stripe applies to the next invoice; in internal mode this event is the credit.
/// </summary>
public sealed record LanePeriodAssessed(
    Guid TenantId, Guid CreditId, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string PlanId,
    long WithinReservation, long Honoured, double TargetPercent, double CreditPercent, decimal MonthlyFeeUsd, decimal CreditUsd,
    string? StripeBalanceTransactionId, DateTimeOffset AssessedAt)
{
    /// <summary>The honoured share in percent; 100 when nothing was within reservation (no promise was tested).</summary>
    public double HonouredPercent => WithinReservation == 0 ? 100 : 100.0 * Honoured / WithinReservation;
}

/// <summary>Staff credited the customer by hand, with a reason (a goodwill gesture, an outage the figures missed).</summary>
public sealed record ServiceCreditGranted(
    Guid TenantId, Guid CreditId, decimal AmountUsd, string Reason, string StaffId, string? StripeBalanceTransactionId, DateTimeOffset GrantedAt);

/// <summary>Staff took a credit back, with a reason; in Stripe mode the customer's balance is debited by as much.</summary>
public sealed record ServiceCreditReversed(
    Guid TenantId, Guid CreditId, decimal AmountUsd, string Reason, string StaffId, string? StripeBalanceTransactionId, DateTimeOffset ReversedAt);

/// <summary>A credit the customer holds (or held, once reversed), as the subscription's history says.</summary>
public sealed record ServiceCredit(
    Guid Id, decimal AmountUsd, DateTimeOffset IssuedAt, string Why, DateTimeOffset? PeriodStart, DateTimeOffset? PeriodEnd,
    string? StripeBalanceTransactionId, DateTimeOffset? ReversedAt = null, string? ReversedWhy = null)
{
    public bool Reversed => ReversedAt is not null;
}

/// <summary>A billing period that has ended and whose lane promise is not judged yet; <paramref name="Final"/> when the
/// subscription ended with it (nothing follows it).</summary>
public sealed record EndedPeriod(DateTimeOffset Start, DateTimeOffset End, string PlanId, bool Final = false)
{
    /// <summary>
    /// The usage hours that belong to the period. Usage is rolled up by the UTC hour, so a period owns the hours from
    /// the one it starts in up to the one the next period starts in, which that next period owns: consecutive
    /// periods share no hour. A final period, which nothing follows, owns the hour it ends in too.
    /// </summary>
    public (DateTimeOffset From, DateTimeOffset To) Hours => (Floor(Start), Final && Floor(End) != End ? Floor(End).AddHours(1) : Floor(End));

    private static DateTimeOffset Floor(DateTimeOffset at) => new(at.UtcTicks - at.UtcTicks % TimeSpan.TicksPerHour, TimeSpan.Zero);
}
