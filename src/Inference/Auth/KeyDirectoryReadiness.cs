using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Auth;

/// <summary>
/// Ready once the key directory has been loaded; degraded (still ready) while it cannot be refreshed, so staff see
/// it; unready only past <see cref="KeyDirectoryOptions.MaxStaleness"/>, when this gateway has been cut off from the
/// database long enough that a revocation made through another path could be missed.
/// </summary>
public sealed class KeyDirectoryReadiness(KeyDirectoryRefresher refresher, IOptions<KeyDirectoryOptions> options, TimeProvider clock) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (refresher.RefreshedAt is not { } at)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("the key directory has not been loaded yet"));
        }

        var age = clock.GetUtcNow() - at;
        var o = options.Value;
        return Task.FromResult(
            age > o.MaxStaleness ? HealthCheckResult.Unhealthy($"keys not refreshed for {age.TotalSeconds:0} s (more than {o.MaxStaleness})")
            : age > 4 * o.PollInterval + TimeSpan.FromSeconds(1) ? HealthCheckResult.Degraded($"serving from memory: keys not refreshed for {age.TotalSeconds:0} s")
            : HealthCheckResult.Healthy());
    }
}
