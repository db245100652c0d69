using System.Security.Cryptography;
using Lanes.Billing;
using Marten;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Time.Testing;
using Xunit;

namespace Lanes.Testing;

/// <summary>Billing as a host wires it (real Marten, real Hangfire storage) on a fresh database, with a fake clock.</summary>
public class BillingHost : IAsyncLifetime
{
    private PostgresDatabase? _database;
    private IHost? _host;

    /// <summary>Starts at a fixed, unremarkable instant: 10:30 UTC, inside the 08:00-16:00 window.</summary>
    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 2, 10, 30, 0, TimeSpan.Zero));

    public string ConnectionString => (_database ??= PostgresDatabase.On(Server)).ConnectionString;

    /// <summary>The key pepper this host hashes with (another process on the same database needs the same).</summary>
    public string Pepper { get; } = NewPepper();

    public IServiceProvider Services => _host?.Services ?? throw new InvalidOperationException("The host has not started.");

    public IDocumentStore Store => Services.GetRequiredService<IDocumentStore>();

    public static string NewPepper() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    protected virtual BillingRole Role => BillingRole.Services;

    /// <summary>The PostgreSQL server to make the database on: the shared test server unless a fixture has its own.</summary>
    protected virtual string? Server => null;

    /// <summary>True for hosts that share the database with other processes on the real clock.</summary>
    protected virtual bool RealClock => false;

    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    /// <summary>Services a fixture adds to what billing registers (what a host like the portal would provide).</summary>
    protected virtual void ConfigureServices(IServiceCollection services)
    {
    }

    public T Get<T>() where T : notnull => Services.GetRequiredService<T>();

    public virtual async Task InitializeAsync()
    {
        _database ??= PostgresDatabase.On(Server);
        await _database.InitializeAsync();
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Lanes"] = _database.ConnectionString,
            ["Keys:Pepper"] = Pepper,
            ["Capacity:Source"] = "Configured",
            ["Capacity:TotalLanes"] = "64",
        });
        builder.Configuration.AddInMemoryCollection(Settings);
        builder.AddBilling(Role);
        builder.Services.AddSingleton<TimeProvider>(RealClock ? TimeProvider.System : Clock);
        ConfigureServices(builder.Services);
        _host = builder.Build();
        await _host.StartAsync();
    }

    public virtual async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }

        if (_database is not null)
        {
            await _database.DisposeAsync();
        }
    }
}
