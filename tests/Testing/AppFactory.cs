using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Xunit;

namespace Lanes.Testing;

/// <summary>A Lanes web app (portal or gateway) on its own fresh database.</summary>
public class AppFactory<TProgram> : WebApplicationFactory<TProgram>, IAsyncLifetime where TProgram : class
{
    public PostgresDatabase Database { get; } = new();

    public string Pepper { get; } = BillingHost.NewPepper();

    /// <summary>The key that encrypts the portal's Data Protection key ring (32 random bytes, like the pepper).</summary>
    public string KeyRingKey { get; } = BillingHost.NewPepper();

    protected virtual string ConnectionString => Database.ConnectionString;

    public virtual Task InitializeAsync() => Database.InitializeAsync();

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment("Development");
        builder.UseSetting("ConnectionStrings:Lanes", ConnectionString);
        builder.UseSetting("Keys:Pepper", Pepper);

        // Selling rules are tested against a typed capacity; the fleet-derived ledger has its own tests.
        builder.UseSetting("Capacity:Source", "Configured");
        builder.UseSetting("DataProtection:KeyEncryptionKey", KeyRingKey);
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        await DisposeAsync();
        await Database.DisposeAsync();
    }
}
