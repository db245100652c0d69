using Lanes.Billing;
using Lanes.Portal.Api.Clients;
using Lanes.Portal.Api.Idempotency;
using Microsoft.AspNetCore.DataProtection.EntityFrameworkCore;
using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;

namespace Lanes.Portal.Identity;

/// <summary>ASP.NET Core Identity's tables, in their own schema of the Lanes database, with what the portal's
/// authorisation server keeps beside them: OpenIddict's applications and tokens, management clients, idempotency
/// records of the management API, and the Data Protection key ring.</summary>
public sealed class IdentityStore(DbContextOptions<IdentityStore> options) : IdentityDbContext<LanesUser>(options), IDataProtectionKeyContext
{
    public const string Schema = "identity";

    public DbSet<DataProtectionKey> DataProtectionKeys => Set<DataProtectionKey>();

    public DbSet<ManagementClient> ManagementClients => Set<ManagementClient>();

    public DbSet<IdempotencyRecord> IdempotencyRecords => Set<IdempotencyRecord>();

    protected override void OnModelCreating(ModelBuilder builder)
    {
        builder.HasDefaultSchema(Schema);
        base.OnModelCreating(builder);
        builder.Entity<DataProtectionKey>().ToTable("data_protection_keys");
        ManagementClient.Configure(builder.Entity<ManagementClient>());
        IdempotencyRecord.Configure(builder.Entity<IdempotencyRecord>());
    }

    /// <summary>Applies pending migrations; called at portal start and by the operator CLI.</summary>
    /// <summary>Applies pending migrations; a host that does not apply schemas (a least-privilege role) only checks
    /// that none is pending.</summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        var database = scope.ServiceProvider.GetRequiredService<IdentityStore>().Database;
        if (services.GetRequiredService<IConfiguration>().AppliesSchema())
        {
            await database.MigrateAsync(ct);
        }
        else if ((await database.GetPendingMigrationsAsync(ct)).ToList() is { Count: > 0 } pending)
        {
            throw new InvalidOperationException($"The identity schema lacks {string.Join(", ", pending)}: apply schemas as the database owner first (./lanes admin migrate).");
        }
    }
}
