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
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<IdentityStore>().Database.MigrateAsync(ct);
    }
}
