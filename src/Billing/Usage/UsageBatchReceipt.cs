namespace Lanes.Billing.Usage;

/// <summary>Proof that a usage batch was recorded. Its id is the batch id, so recording the same batch twice
/// fails to insert and the second attempt changes nothing.</summary>
public sealed record UsageBatchReceipt(Guid Id, string Source, int Lines, DateTimeOffset RecordedAt);
