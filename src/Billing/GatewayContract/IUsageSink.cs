using Lanes.Billing.Usage;

namespace Lanes.Billing.GatewayContract;

/// <summary>Where a gateway's metered usage goes: exactly once per batch id, whatever is retried.</summary>
public interface IUsageSink
{
    /// <returns>True when the batch was recorded now; false when it had been recorded before.</returns>
    Task<bool> RecordAsync(UsageBatch batch, CancellationToken ct = default);

    /// <summary>Several batches in one transaction: all of them, or, when any had been recorded before, none.</summary>
    Task<bool> RecordAllAsync(IReadOnlyList<UsageBatch> batches, CancellationToken ct = default);
}
