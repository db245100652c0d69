using System.Net;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Billing.Usage;
using Lanes.Portal.Admin;
using Lanes.Portal.Tests.Account;
using Lanes.Portal.Tests.Api;
using Lanes.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Npgsql;

namespace Lanes.Portal.Tests.Security;

/// <summary>The schemas as the owner applies them (a portal started as the owner), then the roles
/// <c>./lanes admin db-roles</c> creates, named for this test so parallel runs on one server never share them.</summary>
public sealed class DatabaseWithRoles : PortalOnKestrel
{
    public string Prefix { get; } = $"t{Guid.NewGuid():N}"[..12];

    public IReadOnlyList<DatabaseRole> Roles { get; private set; } = [];

    public string ConnectionStringAs(DatabaseRole role) =>
        new NpgsqlConnectionStringBuilder(Database.ConnectionString) { Username = role.Name, Password = role.Password }.ConnectionString;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        await DatabaseSchemas.ApplyAsync(Services);
        Roles = DatabaseRoles.For(Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"), Guid.NewGuid().ToString("N"), Prefix);
        await DatabaseRoles.ApplyAsync(Get<NpgsqlDataSource>(), Roles);
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        // Roles are cluster-wide: drop what this test made (its grants first, in its own database).
        await using var connection = new NpgsqlConnection(Database.ConnectionString);
        await connection.OpenAsync();
        foreach (var role in Roles)
        {
            await using var drop = new NpgsqlCommand($"drop owned by \"{role.Name}\"; drop role if exists \"{role.Name}\"", connection);
            await drop.ExecuteNonQueryAsync();
        }
    }
}

[Collection(PortalHosts.Name)]
public class LeastPrivilegeRolesTests(DatabaseWithRoles database) : IClassFixture<DatabaseWithRoles>
{
    [Fact]
    public async Task The_gateway_role_cannot_read_users_the_key_ring_or_jobs_nor_change_any_schema_but_meters_usage()
    {
        var gateway = database.Roles.Single(r => r.Name.EndsWith("_gateway", StringComparison.Ordinal));
        await using var connection = new NpgsqlConnection(database.ConnectionStringAs(gateway));
        await connection.OpenAsync();

        foreach (var forbidden in new[]
        {
            "select count(*) from identity.\"AspNetUsers\"",
            "select count(*) from identity.data_protection_keys",
            "select count(*) from hangfire.job",
            "create table lanes.not_allowed (x int)",
            "drop table lanes.mt_events",
            "create table public.not_allowed (x int)",
        })
        {
            await using var command = new NpgsqlCommand(forbidden, connection);
            var refused = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteScalarAsync());
            Assert.True(refused.SqlState is PostgresErrorCodes.InsufficientPrivilege, $"{forbidden}: {refused.SqlState} {refused.MessageText}");
        }

        // What a gateway does: it reads keys and records usage, as its own role, without touching the schema.
        var tenant = await database.TenantAsync();
        var key = (await database.Get<KeyService>().IssueAsync(tenant, new KeyRequest("ci"), "test")).Key;
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Lanes"] = database.ConnectionStringAs(gateway),
            ["Keys:Pepper"] = database.Pepper,
            ["Database:ApplySchema"] = "false",
        });
        builder.AddBilling(BillingRole.Services);
        using var host = builder.Build();
        await host.StartAsync();
        var hour = new DateTimeOffset(DateTime.UtcNow.Year, DateTime.UtcNow.Month, DateTime.UtcNow.Day, DateTime.UtcNow.Hour, 0, 0, TimeSpan.Zero);
        await host.Services.GetRequiredService<UsageRecorder>().RecordAsync(new UsageBatch(Guid.NewGuid(), "gateway-role",
            [new UsageLine(tenant, key.Id, "scripted", key.WindowStart, hour, 1, 10, 20, 0.01m, 0)]));
        Assert.Single(await host.Services.GetRequiredService<KeyService>().ListAsync(tenant));
        var pools = host.Services.GetRequiredService<Lanes.Billing.Leases.LeasePools>();
        var pool = Lanes.Billing.Leases.LeasePools.ForKey(key.Id);
        Assert.Equal(0.5m, (await pools.GrantAsync(pool, key.WindowStart, "gateway-role", capacity: 5m, wanted: 0.5m, minimum: 0.1m, spendable: 0.2m)).Granted);
        await pools.RenewAsync("gateway-role", [new Lanes.Billing.Leases.LeaseRenewal(pool, key.WindowStart, 0.3m)]);
        await pools.ReleaseAsync(pool, key.WindowStart, "gateway-role", keep: 0.1m);
        await pools.ReclaimAsync(TimeSpan.FromMinutes(1));
        await host.StopAsync();
    }

    [Fact]
    public async Task A_portal_connected_as_its_own_role_signs_a_customer_up()
    {
        var role = database.Roles.Single(r => r.Name.EndsWith("_portal", StringComparison.Ordinal));
        IAsyncLifetime portal = new PortalAsRole(database.ConnectionStringAs(role), database.KeyRingKey);
        await portal.InitializeAsync();
        try
        {
            using var browser = ((PortalAsRole)portal).CreateClient(new() { AllowAutoRedirect = false, HandleCookies = true });

            var registered = await browser.RegisterAsync("Least Privilege Co", $"owner-{Guid.NewGuid():N}@roles.test", "Correct-Horse-9");

            Assert.Equal(HttpStatusCode.Redirect, registered.StatusCode);
        }
        finally
        {
            await portal.DisposeAsync();
        }
    }

    /// <summary>A second portal on the same database as the portal role, not applying schemas (as ./lanes up runs it).</summary>
    private sealed class PortalAsRole(string connectionString, string keyRingKey) : AppFactory<Program>
    {
        protected override string ConnectionString => connectionString;

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Database:ApplySchema", "false");
            builder.UseSetting("DataProtection:KeyEncryptionKey", keyRingKey);
        }
    }
}
