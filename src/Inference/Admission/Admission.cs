using Lanes.Billing.GatewayContract;
using Lanes.Billing.Usage;
using Lanes.Inference.Budgets;
using Lanes.Inference.Engine;
using Lanes.Inference.LaneScheduling;
using Lanes.Shared.Pricing;

namespace Lanes.Inference.Admission;

/// <summary>Everything decided about a request before it runs: who, what, the money held and the lane granted.</summary>
public sealed class Admission
{
    public required KeyStatus Key { get; init; }
    public required TenantReservation Tenant { get; init; }
    public required EnginePrompt Prompt { get; init; }
    public required Sampling Sampling { get; init; }
    public required ModelPrice Price { get; init; }
    public required Hold Hold { get; init; }
    public required LaneLease Lease { get; init; }
    public required DateTimeOffset ArrivedAt { get; init; }
    public required TimeSpan QueueWait { get; init; }

    public ApiDoor Door { get; init; }

    /// <summary>Whether the lane promise covered this request and, if so, whether it started within the plan's
    /// admission target.</summary>
    public Metering.LanePromise Promise { get; init; }

    /// <summary>Lanes its tenant had running, fleet-wide, once this request started (itself included): what the usage
    /// charts' peak is made of.</summary>
    public int LanesInUse { get; init; }

    private int _completed;

    /// <summary>True the first time only: a request is completed once the engine is done, before its last bytes are
    /// written, and the API's <c>finally</c> completes it again for the paths that never got that far.</summary>
    internal bool TryComplete() => Interlocked.Exchange(ref _completed, 1) == 0;
}
