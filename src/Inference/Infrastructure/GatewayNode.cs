using Lanes.Shared.Plans;

namespace Lanes.Inference.Infrastructure;

/// <summary>This gateway process among the fleet: the id it reports under and places lanes by
/// (<c>Gateway:NodeId</c>, for example the pod name; unique per process when unset), and the model pool it serves
/// (<c>Gateway:Pool</c>; the default pool when unset): its slots count towards that pool's capacity, and it holds
/// only the reservations of tenants whose plan is in that pool.</summary>
public sealed class GatewayNode(IConfiguration configuration)
{
    public string Id { get; } = configuration["Gateway:NodeId"] is { Length: > 0 } id
        ? id
        : $"gateway:{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";

    /// <summary>The name this process holds budget leases under: unique per process even when <see cref="Id"/> is a
    /// pod name a restarted container reuses, so a restart never inherits (and keeps alive) what its predecessor held.</summary>
    public string Holder { get; } = $"{configuration["Gateway:NodeId"] ?? "gateway"}/{Guid.NewGuid():N}";

    public string Pool { get; } = configuration["Gateway:Pool"] is { Length: > 0 } pool
        ? ModelPools.IsValidId(pool) ? pool : throw new InvalidOperationException(
            $"Gateway:Pool '{pool}' is not a model pool id (lower-case letters, digits, dots and dashes, such as 'qwen-7b').")
        : ModelPools.Default;
}
