using Lanes.Billing.LaneCredits;

namespace Lanes.Billing.Subscriptions;

public enum SubscriptionStatus
{
    None,
    Trialing,
    Active,
    PastDue,
    InGrace,
    Cancelling,
    Paused,
    Ended,
}

// Events carry the plan's lanes and window terms as they were when the event happened, so the history and every
// projection stay right after the catalog changes.
public sealed record SubscriptionStarted(
    Guid TenantId, string PlanId, int PlanLanes, int RequestsPerWindow, TimeSpan WindowLength,
    SubscriptionStatus Status, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string StartedBy, DateTimeOffset StartedAt,
    bool FreeTrial = false);

/// <summary>Lanes ended a Stripe subscription (its grace ran out) and Stripe has now canceled it too, so it can no
/// longer bill the customer or come back by itself.</summary>
public sealed record StripeSubscriptionCanceled(Guid TenantId, string SubscriptionId, string Reason, DateTimeOffset CanceledAt);

/// <summary>A subscription dunning ended came back because Stripe says it is paid after all (a late payment); what
/// dunning took away with it (its keys, revoked at <paramref name="EndedAt"/>) comes back too.</summary>
public sealed record SubscriptionRestored(Guid TenantId, DateTimeOffset EndedAt, string Reason, DateTimeOffset RestoredAt);

/// <summary>Stripe bills the subscription at a price no plan knows (a changed price id, a Dashboard edit): Lanes
/// keeps the lanes it had and handles renewals, failures and cancellations, and staff are told to map the price.</summary>
public sealed record UnknownStripePriceFound(Guid TenantId, string SubscriptionId, string? PriceId, DateTimeOffset FoundAt);

/// <summary>A second Stripe subscription of a tenant that already had one live (two checkouts paid): canceled in
/// Stripe at once and what it was paid refunded in full (<paramref name="AmountRefunded"/>, in the currency's smallest
/// unit; zero when nothing had been paid yet, which staff check in Stripe). README, Billing modes.</summary>
public sealed record DuplicateStripeSubscriptionCanceled(
    Guid TenantId, string SubscriptionId, string KeptSubscriptionId, DateTimeOffset CanceledAt, long AmountRefunded = 0, string? Currency = null);

/// <summary>A downgrade waiting for the period end was undone (the customer kept their plan): nothing changes.</summary>
public sealed record ScheduledPlanChangeCanceled(Guid TenantId, string To, string CanceledBy, DateTimeOffset CanceledAt);

/// <summary>Staff paused collecting payment in Stripe (<c>pause_collection</c>): Stripe's way of giving the service
/// for free for a while, so the lanes go on; <paramref name="Behavior"/> says what happens to the invoices meanwhile.</summary>
public sealed record PaymentCollectionPaused(Guid TenantId, string Behavior, DateTimeOffset? ResumesAt, DateTimeOffset PausedAt);

public sealed record PaymentCollectionResumed(Guid TenantId, DateTimeOffset ResumedAt);

/// <summary>A paid subscription that Stripe started beyond the cluster's capacity (made in the Dashboard, or a race):
/// Stripe has taken the money, so the lanes are served, and staff are told to add capacity or settle it.</summary>
public sealed record CapacityOverbooked(Guid TenantId, int Lanes, int FreeLanes, DateTimeOffset FoundAt);

/// <summary>Money went back to the customer (all refunds of one charge so far): on record for staff and the
/// customer; the lanes are not touched (a refund is a settlement, not a cancellation).</summary>
public sealed record PaymentRefunded(Guid TenantId, string ChargeId, long AmountRefunded, string Currency, DateTimeOffset RefundedAt);

/// <summary>The customer's bank disputes a charge, or the dispute moved on (<paramref name="Status"/>: Stripe's,
/// e.g. needs_response, won, lost). The lanes go on; staff answer the dispute in Stripe and decide.</summary>
public sealed record PaymentDisputed(Guid TenantId, string DisputeId, string ChargeId, long Amount, string Currency, string Reason, string Status, DateTimeOffset At);

/// <summary>Staff turned a free trial into a plan of their own arrangement: from now on it is paid capacity.</summary>
public sealed record TrialConverted(Guid TenantId, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string ConvertedBy, DateTimeOffset ConvertedAt);

public sealed record PlanChanged(
    Guid TenantId, string From, string To, int PlanLanes, int RequestsPerWindow, TimeSpan WindowLength,
    DateTimeOffset EffectiveAt, string ChangedBy, DateTimeOffset ChangedAt);

public sealed record SubscriptionRenewed(Guid TenantId, DateTimeOffset PeriodStart, DateTimeOffset PeriodEnd, string RenewedBy, DateTimeOffset RenewedAt);

public sealed record PaymentFailed(Guid TenantId, string Reason, DateTimeOffset FailedAt);

public sealed record GracePeriodStarted(Guid TenantId, int ReducedLanes, DateTimeOffset GraceEndsAt, DateTimeOffset StartedAt);

public sealed record PaymentRecovered(Guid TenantId, DateTimeOffset RecoveredAt);

public sealed record CancellationScheduled(Guid TenantId, DateTimeOffset EndsAt, string ScheduledBy, DateTimeOffset ScheduledAt);

public sealed record CancellationResumed(Guid TenantId, string ResumedBy, DateTimeOffset ResumedAt);

public sealed record SubscriptionEnded(Guid TenantId, string Reason, string EndedBy, DateTimeOffset EndedAt);

public sealed record ReservationAdjusted(Guid TenantId, int Lanes, DateTimeOffset? Until, string Reason, string StaffId, DateTimeOffset AdjustedAt);

public sealed record ReservationOverrideExpired(Guid TenantId, int Lanes, DateTimeOffset ExpiredAt);

/// <summary>A downgrade waits for the end of the paid period; lanes shrink exactly then.</summary>
public sealed record PlanChangeScheduled(
    Guid TenantId, string From, string To, int PlanLanes, int RequestsPerWindow, TimeSpan WindowLength,
    DateTimeOffset EffectiveAt, string ScheduledBy, DateTimeOffset ScheduledAt);

public sealed record SubscriptionPaused(Guid TenantId, string PausedBy, DateTimeOffset PausedAt);

public sealed record SubscriptionUnpaused(Guid TenantId, string UnpausedBy, DateTimeOffset UnpausedAt);

/// <summary>The tenant's subscription is paid through Stripe: these ids tie it to Stripe's objects.</summary>
public sealed record StripeSubscriptionLinked(Guid TenantId, string CustomerId, string SubscriptionId, DateTimeOffset LinkedAt);

public sealed record ScheduledPlanChange(string To, int PlanLanes, int RequestsPerWindow, TimeSpan WindowLength, DateTimeOffset EffectiveAt);

public sealed record ReservationOverride(int Lanes, DateTimeOffset? Until, string Reason, string StaffId)
{
    public bool ActiveAt(DateTimeOffset now) => Until is null || Until > now;
}

/// <summary>
/// A tenant's subscription: one stream per tenant (id from <see cref="SubscriptionStreams.For"/>), restartable after
/// it ends. The inline snapshot is also the "tenant lanes" read model the gateway and portal use.
/// </summary>
public sealed record Subscription
{
    public Guid Id { get; init; }
    public Guid TenantId { get; init; }
    public string PlanId { get; init; } = "";
    public SubscriptionStatus Status { get; init; }
    public int PlanLanes { get; init; }
    public int RequestsPerWindow { get; init; }
    public TimeSpan WindowLength { get; init; }
    public DateTimeOffset PeriodStart { get; init; }
    public DateTimeOffset PeriodEnd { get; init; }
    public DateTimeOffset? GraceEndsAt { get; init; }
    public int? GraceLanes { get; init; }
    public DateTimeOffset? CancelsAt { get; init; }
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>Why the subscription ended (<c>grace_expired</c>, <c>cancelled</c>, <c>stripe_canceled</c>...).</summary>
    public string? EndReason { get; init; }

    /// <summary>Stripe has canceled the linked subscription after Lanes ended it (dunning): nothing is left to bill.</summary>
    public bool StripeCanceled { get; init; }

    /// <summary>Set when this subscription is one dunning ended and a late payment brought back: the end it undid.</summary>
    public DateTimeOffset? RestoredAfter { get; init; }

    /// <summary>A Stripe price no plan knows, waiting for staff to map it (Stripe:LegacyPrices or Stripe:Prices).</summary>
    public string? UnknownStripePrice { get; init; }

    /// <summary>Second Stripe subscriptions of this tenant that Lanes canceled (staff refund them).</summary>
    public IReadOnlyList<string> CanceledDuplicates { get; init; } = [];
    public ReservationOverride? Override { get; init; }

    /// <summary>Amount refunded so far per Stripe charge, and each dispute's status: what the history last said, so a
    /// repeated webhook adds nothing. Kept across restarts of the subscription.</summary>
    public IReadOnlyDictionary<string, long> Refunded { get; init; } = new Dictionary<string, long>();

    public IReadOnlyDictionary<string, string> Disputes { get; init; } = new Dictionary<string, string>();

    /// <summary>Stripe's <c>pause_collection</c> behaviour while payment collection is paused (the lanes go on).</summary>
    public string? CollectionPause { get; init; }

    public DateTimeOffset? CollectionResumesAt { get; init; }
    public ScheduledPlanChange? ScheduledChange { get; init; }
    public string? StripeCustomerId { get; init; }
    public string? StripeSubscriptionId { get; init; }

    /// <summary>An internal-mode trial nobody has paid for. Note: its lanes come from the trial pool, never from paid
    /// capacity, and it never becomes active by itself: resuming, unpausing or renewal keep it a trial until staff
    /// convert it (<see cref="TrialConverted"/>).</summary>
    public bool FreeTrial { get; init; }

    /// <summary>Lanes held against cluster capacity. Note: this is the most the tenant can get back without a
    /// new capacity check (plan lanes during grace, the larger of plan and override), so that an expiring
    /// override or a recovered payment never oversells the cluster.</summary>
    public int AllocatedLanes { get; init; }

    /// <summary>The part of <see cref="AllocatedLanes"/> held in the trial pool: a free trial's plan lanes. Anything
    /// staff grant above them (an override) is paid capacity, like every lane of a paid subscription.</summary>
    public int TrialPoolLanes { get; init; }

    /// <summary>The part of <see cref="AllocatedLanes"/> held against paid capacity.</summary>
    public int PaidPoolLanes => AllocatedLanes - TrialPoolLanes;

    public bool IsLive => Status is not (SubscriptionStatus.None or SubscriptionStatus.Ended);

    /// <summary>Service credits issued to the customer (for missed lane objectives, or by staff), reversed or not.
    /// Kept across restarts of the subscription: it is the customer's ledger.</summary>
    public IReadOnlyList<ServiceCredit> Credits { get; init; } = [];

    /// <summary>Paid periods that have ended and whose lane promise is not judged yet (the credits job judges each
    /// once, after usage has settled).</summary>
    public IReadOnlyList<EndedPeriod> PeriodsToAssess { get; init; } = [];

    /// <summary>The credits the customer holds now, in USD.</summary>
    public decimal CreditBalanceUsd => Credits.Where(c => !c.Reversed).Sum(c => c.AmountUsd);

    /// <summary>The lanes the gateway reserves for the tenant right now (the rule is the gateway's own, so both
    /// sides read a reservation the same way).</summary>
    public int ReservedLanesAt(DateTimeOffset now) => ToReservation().ReservedLanesAt(now);

    /// <summary>What a gateway needs of this subscription to admit requests (billing's key status feed sends it).</summary>
    public GatewayContract.TenantReservation ToReservation() =>
        new(TenantId, PlanId, Status, PlanLanes, GraceLanes, Override?.Lanes, Override?.Until, RequestsPerWindow, WindowLength);

    public static Subscription Create(SubscriptionStarted e) => new Subscription().Apply(e);

    public Subscription Apply(SubscriptionStarted e) => Allocate(new Subscription
    {
        Id = Id,
        StripeCustomerId = StripeCustomerId,
        Refunded = Refunded,
        Disputes = Disputes,
        Credits = Credits,
        PeriodsToAssess = PeriodsToAssess,
        TenantId = e.TenantId,
        PlanId = e.PlanId,
        Status = e.Status,
        PlanLanes = e.PlanLanes,
        RequestsPerWindow = e.RequestsPerWindow,
        WindowLength = e.WindowLength,
        PeriodStart = e.PeriodStart,
        PeriodEnd = e.PeriodEnd,
        FreeTrial = e.FreeTrial,
    });

    public Subscription Apply(TrialConverted e) => Allocate(this with
    {
        FreeTrial = false,
        PeriodStart = e.PeriodStart,
        PeriodEnd = e.PeriodEnd,
        Status = Status == SubscriptionStatus.Trialing ? SubscriptionStatus.Active : Status,
    });

    public Subscription Apply(PlanChanged e) => Allocate(this with
    {
        ScheduledChange = null,
        PlanId = e.To,
        PlanLanes = e.PlanLanes,
        RequestsPerWindow = e.RequestsPerWindow,
        WindowLength = e.WindowLength,
    });

    public Subscription Apply(SubscriptionRenewed e) => this with
    {
        // The period that ended is judged later; a free trial's is not (nothing was paid for it).
        PeriodsToAssess = FreeTrial || e.PeriodStart <= PeriodStart ? PeriodsToAssess : [.. PeriodsToAssess, new EndedPeriod(PeriodStart, Min(PeriodEnd, e.PeriodStart), PlanId)],
        PeriodStart = e.PeriodStart,
        PeriodEnd = e.PeriodEnd,
        // A paid trial (Stripe's) becomes active when it is paid; staff extending a free trial extend the trial.
        Status = Status == SubscriptionStatus.Trialing && !FreeTrial ? SubscriptionStatus.Active : Status,
    };

    public Subscription Apply(PaymentFailed e) => this with { Status = SubscriptionStatus.PastDue };

    public Subscription Apply(GracePeriodStarted e) =>
        this with { Status = SubscriptionStatus.InGrace, GraceEndsAt = e.GraceEndsAt, GraceLanes = e.ReducedLanes };

    public Subscription Apply(PaymentRecovered e) =>
        this with { Status = CancelsAt is null ? Running : SubscriptionStatus.Cancelling, GraceEndsAt = null, GraceLanes = null };

    // Note: a failing subscription that is cancelled stays failing (its grace, and its reduced lanes, run on), so
    // cancelling can never be a way to get the full reservation back without paying.
    public Subscription Apply(CancellationScheduled e) => this with { Status = IsFailing ? Status : SubscriptionStatus.Cancelling, CancelsAt = e.EndsAt };

    public Subscription Apply(CancellationResumed e) => this with { Status = IsFailing ? Status : Running, CancelsAt = null };

    private bool IsFailing => Status is SubscriptionStatus.PastDue or SubscriptionStatus.InGrace;

    public Subscription Apply(SubscriptionEnded e) => Allocate(this with
    {
        PeriodsToAssess = FreeTrial || e.EndedAt <= PeriodStart ? PeriodsToAssess : [.. PeriodsToAssess, new EndedPeriod(PeriodStart, Min(PeriodEnd, e.EndedAt), PlanId, Final: true)],
        Status = SubscriptionStatus.Ended,
        EndedAt = e.EndedAt,
        EndReason = e.Reason,
        CancelsAt = null,
        GraceEndsAt = null,
        GraceLanes = null,
        Override = null,
        ScheduledChange = null,
        CollectionPause = null,
        CollectionResumesAt = null,
    });

    public Subscription Apply(ReservationAdjusted e) =>
        Allocate(this with { Override = new ReservationOverride(e.Lanes, e.Until, e.Reason, e.StaffId) });

    public Subscription Apply(ReservationOverrideExpired e) => Allocate(this with { Override = null });

    public Subscription Apply(PlanChangeScheduled e) =>
        this with { ScheduledChange = new ScheduledPlanChange(e.To, e.PlanLanes, e.RequestsPerWindow, e.WindowLength, e.EffectiveAt) };

    public Subscription Apply(SubscriptionPaused e) => this with { Status = SubscriptionStatus.Paused };

    public Subscription Apply(SubscriptionUnpaused e) => this with { Status = CancelsAt is null ? Running : SubscriptionStatus.Cancelling };

    /// <summary>The status a subscription returns to when nothing holds it (a cancellation, a pause, a failed
    /// payment): a free trial stays a trial.</summary>
    private SubscriptionStatus Running => FreeTrial ? SubscriptionStatus.Trialing : SubscriptionStatus.Active;

    public Subscription Apply(StripeSubscriptionLinked e) => this with { StripeCustomerId = e.CustomerId, StripeSubscriptionId = e.SubscriptionId, StripeCanceled = false };

    public Subscription Apply(StripeSubscriptionCanceled e) => this with { StripeCanceled = true };

    public Subscription Apply(SubscriptionRestored e) => this with { RestoredAfter = e.EndedAt };

    public Subscription Apply(UnknownStripePriceFound e) => this with { UnknownStripePrice = e.PriceId };

    public Subscription Apply(DuplicateStripeSubscriptionCanceled e) => this with { CanceledDuplicates = [.. CanceledDuplicates, e.SubscriptionId] };

    public Subscription Apply(ScheduledPlanChangeCanceled e) => this with { ScheduledChange = null };

    public Subscription Apply(PaymentCollectionPaused e) => this with { CollectionPause = e.Behavior, CollectionResumesAt = e.ResumesAt };

    public Subscription Apply(PaymentCollectionResumed e) => this with { CollectionPause = null, CollectionResumesAt = null };

    public Subscription Apply(CapacityOverbooked e) => this;

    public Subscription Apply(PaymentRefunded e) => this with { Refunded = new Dictionary<string, long>(Refunded) { [e.ChargeId] = e.AmountRefunded } };

    public Subscription Apply(PaymentDisputed e) => this with { Disputes = new Dictionary<string, string>(Disputes) { [e.DisputeId] = e.Status } };

    public Subscription Apply(LanePeriodAssessed e) => this with
    {
        PeriodsToAssess = [.. PeriodsToAssess.Where(p => p.Start != e.PeriodStart)],
        Credits = e.CreditUsd <= 0 ? Credits
            : [.. Credits, new ServiceCredit(e.CreditId, e.CreditUsd, e.AssessedAt,
                $"{e.HonouredPercent:0.###} % of within-reservation requests honoured against {e.TargetPercent:0.###} %: {e.CreditPercent:0.#} % of the monthly fee",
                e.PeriodStart, e.PeriodEnd, e.StripeBalanceTransactionId)],
    };

    public Subscription Apply(ServiceCreditGranted e) =>
        this with { Credits = [.. Credits, new ServiceCredit(e.CreditId, e.AmountUsd, e.GrantedAt, e.Reason, null, null, e.StripeBalanceTransactionId)] };

    public Subscription Apply(ServiceCreditReversed e) =>
        this with { Credits = [.. Credits.Select(c => c.Id == e.CreditId ? c with { ReversedAt = e.ReversedAt, ReversedWhy = e.Reason } : c)] };

    private static DateTimeOffset Min(DateTimeOffset a, DateTimeOffset b) => a < b ? a : b;

    private static Subscription Allocate(Subscription s)
    {
        var allocated = !s.IsLive ? 0 : Math.Max(s.PlanLanes, s.Override?.Lanes ?? 0);
        return s with { AllocatedLanes = allocated, TrialPoolLanes = s.FreeTrial ? Math.Min(s.PlanLanes, allocated) : 0 };
    }

    /// <summary>Applies one event to a state (null before the first): what the service uses to see the state a
    /// decision leads to before it is written.</summary>
    public static Subscription? After(Subscription? s, object e) => (s, e) switch
    {
        (null, SubscriptionStarted started) => Subscription.Create(started),
        (not null, SubscriptionStarted started) => s.Apply(started),
        (not null, PlanChanged x) => s.Apply(x),
        (not null, SubscriptionRenewed x) => s.Apply(x),
        (not null, PaymentFailed x) => s.Apply(x),
        (not null, GracePeriodStarted x) => s.Apply(x),
        (not null, PaymentRecovered x) => s.Apply(x),
        (not null, CancellationScheduled x) => s.Apply(x),
        (not null, CancellationResumed x) => s.Apply(x),
        (not null, SubscriptionEnded x) => s.Apply(x),
        (not null, ReservationAdjusted x) => s.Apply(x),
        (not null, ReservationOverrideExpired x) => s.Apply(x),
        (not null, PlanChangeScheduled x) => s.Apply(x),
        (not null, SubscriptionPaused x) => s.Apply(x),
        (not null, SubscriptionUnpaused x) => s.Apply(x),
        (not null, StripeSubscriptionLinked x) => s.Apply(x),
        (not null, TrialConverted x) => s.Apply(x),
        (not null, StripeSubscriptionCanceled x) => s.Apply(x),
        (not null, SubscriptionRestored x) => s.Apply(x),
        (not null, UnknownStripePriceFound x) => s.Apply(x),
        (not null, DuplicateStripeSubscriptionCanceled x) => s.Apply(x),
        (not null, ScheduledPlanChangeCanceled x) => s.Apply(x),
        (not null, PaymentCollectionPaused x) => s.Apply(x),
        (not null, PaymentCollectionResumed x) => s.Apply(x),
        (not null, CapacityOverbooked x) => s.Apply(x),
        (not null, PaymentRefunded x) => s.Apply(x),
        (not null, PaymentDisputed x) => s.Apply(x),
        (not null, LanePeriodAssessed x) => s.Apply(x),
        (not null, ServiceCreditGranted x) => s.Apply(x),
        (not null, ServiceCreditReversed x) => s.Apply(x),
        _ => throw new InvalidOperationException($"{e.GetType().Name} cannot apply to {(s is null ? "a new" : "this")} subscription."),
    };
}
