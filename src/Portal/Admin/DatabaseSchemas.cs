using Lanes.Billing.Infrastructure;
using Lanes.Portal.Identity;
using Marten;

namespace Lanes.Portal.Admin;

/// <summary>Every schema Lanes uses, applied by the database owner before least-privilege roles connect
/// (<c>./lanes admin migrate</c>): billing's Marten store (with the lease tables), the identity store, Hangfire's tables.</summary>
public static class DatabaseSchemas
{
    public static readonly IReadOnlyList<string> All = [BillingStore.Schema, IdentityStore.Schema, DatabaseRoles.HangfireSchema];

    public static async Task ApplyAsync(IServiceProvider services, CancellationToken ct = default)
    {
        await services.GetRequiredService<IDocumentStore>().Storage.ApplyAllConfiguredChangesToDatabaseAsync();
        await IdentityStore.MigrateAsync(services, ct);

        // Hangfire's storage installs its tables when it is created (PrepareSchemaIfNecessary).
        using (services.GetRequiredService<Hangfire.JobStorage>().GetConnection())
        {
        }
    }
}
