using Microsoft.Extensions.Diagnostics.HealthChecks;
using Npgsql;

namespace Lanes.Billing.Infrastructure;

/// <summary>Healthy when PostgreSQL answers a query within the check's timeout; otherwise the registration's failure
/// status (unready for the portal, which cannot serve without it; degraded for a gateway, which serves from memory).</summary>
public sealed class DatabaseHealthCheck(NpgsqlDataSource dataSource) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var command = dataSource.CreateCommand("select 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return HealthCheckResult.Healthy();
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or InvalidOperationException)
        {
            return new HealthCheckResult(context.Registration.FailureStatus, "PostgreSQL is not reachable.", e);
        }
    }
}
