using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Lanes.Inference.Metering;

/// <summary>Not ready once shutdown has begun: load balancers stop sending new requests while running streams finish.</summary>
public sealed class DrainReadiness(RequestDrain drain) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(drain.Stopping ? HealthCheckResult.Unhealthy("draining: running requests are finishing") : HealthCheckResult.Healthy());
}
