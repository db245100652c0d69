namespace Lanes.Inference.Infrastructure;

/// <summary>This gateway process among the fleet: the id it reports under and places lanes by
/// (<c>Gateway:NodeId</c>, for example the pod name; unique per process when unset).</summary>
public sealed class GatewayNode(IConfiguration configuration)
{
    public string Id { get; } = configuration["Gateway:NodeId"] is { Length: > 0 } id
        ? id
        : $"gateway:{Environment.MachineName}:{Environment.ProcessId}:{Guid.NewGuid():N}";
}
