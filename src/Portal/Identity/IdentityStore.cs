using Microsoft.AspNetCore.Identity.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;

namespace Lanes.Portal.Identity;

/// <summary>ASP.NET Core Identity's tables, in their own schema of the Lanes database.</summary>
public sealed class IdentityStore(DbContextOptions<IdentityStore> options) : IdentityDbContext<LanesUser>(options)
{
    public const string Schema = "identity";

    protected override void OnModelCreating(ModelBuilder builder)
    {
        builder.HasDefaultSchema(Schema);
        base.OnModelCreating(builder);
    }

    /// <summary>Applies pending migrations; called at portal start and by the operator CLI.</summary>
    public static async Task MigrateAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<IdentityStore>().Database.MigrateAsync(ct);
    }
}

/// <summary>Lets <c>dotnet ef migrations add</c> build the context without starting the portal.</summary>
internal sealed class DesignTimeIdentityStoreFactory : IDesignTimeDbContextFactory<IdentityStore>
{
    public IdentityStore CreateDbContext(string[] args) => new(new DbContextOptionsBuilder<IdentityStore>()
        .UseNpgsql("Host=127.0.0.1;Database=design_time", o => o.MigrationsHistoryTable("__ef_migrations", IdentityStore.Schema))
        .Options);
}
