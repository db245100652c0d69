using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Lanes.Shared.Hosting;

/// <summary>How every Lanes process answers its orchestrator: liveness and readiness, the same on the portal and the
/// gateway.</summary>
public static class LanesHealth
{
    /// <summary>Health checks that say whether a process should get traffic (not whether it is alive).</summary>
    public const string ReadinessTag = "ready";

    /// <summary>The name of the PostgreSQL check.</summary>
    public const string DatabaseCheck = "postgresql";

    /// <summary>Maps <c>/healthz</c> (liveness: the process answers; nothing outside it is checked, so an orchestrator
    /// never restarts a healthy process for a fault a restart cannot fix) and <c>/readyz</c> (readiness: every check
    /// tagged <see cref="ReadinessTag"/>: the database for the portal; draining and the key directory for a gateway).</summary>
    public static IEndpointRouteBuilder MapLanesHealth(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapHealthChecks("/healthz", Options(r => !r.Tags.Contains(ReadinessTag)));
        endpoints.MapHealthChecks("/readyz", Options(r => r.Tags.Contains(ReadinessTag)));
        return endpoints;
    }

    private static HealthCheckOptions Options(Func<Microsoft.Extensions.Diagnostics.HealthChecks.HealthCheckRegistration, bool> predicate) =>
        new()
        {
            Predicate = predicate,
            ResponseWriter = (context, report) =>
            {
                context.Response.ContentType = "application/json";
                return context.Response.WriteAsJsonAsync(new
                {
                    status = report.Status.ToString().ToLowerInvariant(),
                    checks = report.Entries.ToDictionary(e => e.Key, e => e.Value.Status.ToString().ToLowerInvariant()),
                    reasons = report.Entries.Where(e => e.Value.Status != HealthStatus.Healthy && e.Value.Description is not null)
                        .ToDictionary(e => e.Key, e => e.Value.Description),
                });
            },
        };
}
