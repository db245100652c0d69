namespace Lanes.Billing.Notices;

/// <summary>The billing emails Lanes sends itself (Stripe's own receipts and invoices are Stripe's).</summary>
public enum BillingNoticeKind
{
    /// <summary>A payment failed: the grace period runs, with reduced lanes, until it is paid.</summary>
    PaymentFailed,

    /// <summary>The bank wants the customer to confirm a payment (3-D Secure) on Stripe's invoice page.</summary>
    AuthenticationNeeded,

    /// <summary>A trial ends soon.</summary>
    TrialEnding,

    /// <summary>The subscription ended: its lanes are released and its API keys stop working.</summary>
    SubscriptionEnded,
}

/// <summary>What a notice's email says, captured when it was decided (the plan and lanes as they were then).</summary>
public sealed record BillingNoticeData
{
    public string? PlanId { get; init; }
    public int? PlanLanes { get; init; }

    /// <summary>The lanes kept during the grace period.</summary>
    public int? GraceLanes { get; init; }
    public DateTimeOffset? GraceEndsAt { get; init; }
    public DateTimeOffset? TrialEndsAt { get; init; }

    /// <summary>A free trial in internal mode (staff assign plans), not a Stripe trial (the card is charged at its end).</summary>
    public bool FreeTrial { get; init; }

    /// <summary>Why the subscription ended: <c>grace_expired</c>, <c>cancelled</c>, <c>trial_ended</c>, <c>stripe_canceled</c> or staff's.</summary>
    public string? EndReason { get; init; }
    public string? InvoiceId { get; init; }

    /// <summary>Stripe's page where the customer pays or confirms the invoice.</summary>
    public string? HostedInvoiceUrl { get; init; }
}

/// <summary>
/// One billing email to send: a transactional outbox. A notice is written in the same transaction as the events that
/// cause it, and its id is derived from the tenant, the kind and what it is about (the grace end, the trial end, the
/// invoice), so a retried command or a repeated webhook finds it already there and nobody gets the same email twice.
/// The send job marks it sent; a failed send leaves it for the next run.
/// </summary>
public sealed record BillingNotice(string Id, Guid TenantId, BillingNoticeKind Kind, DateTimeOffset CreatedAt, BillingNoticeData Data)
{
    public DateTimeOffset? SentAt { get; init; }

    /// <summary>Set when the notice will never be sent: it no longer applies (the payment came in before the email
    /// went), or it could not be delivered in time (<see cref="DropReason"/> says which).</summary>
    public DateTimeOffset? DroppedAt { get; init; }
    public string? DropReason { get; init; }
    public int Attempts { get; init; }
    public string? LastError { get; init; }

    public bool IsDue => SentAt is null && DroppedAt is null;
}
