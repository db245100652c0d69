namespace Lanes.Billing.Notices;

/// <summary>
/// Delivers one billing notice as email. Billing knows no mail server and no user accounts: the portal implements this
/// (recipients, wording, links). A host without an implementation leaves notices for one that has it.
/// </summary>
public interface IBillingMailer
{
    Task<NoticeDelivery> DeliverAsync(BillingNotice notice, CancellationToken ct = default);
}

/// <summary>What became of one delivery: sent, or not (and why, in words for the log; it is tried again next run).</summary>
public sealed record NoticeDelivery(bool Sent, string? Problem = null)
{
    public static NoticeDelivery Delivered { get; } = new(true);

    public static NoticeDelivery NotDelivered(string problem) => new(false, problem);
}
