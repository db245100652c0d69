using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace Lanes.Testing;

/// <summary>A Lanes web app (portal or gateway) on real Kestrel, on a loopback port, on its own fresh database: real
/// HTTP for clients that open their own connections (SDKs, agent CLIs, browsers).</summary>
public class OnKestrel<TProgram> : AppFactory<TProgram> where TProgram : class
{
    private string? _baseAddress;

    public OnKestrel()
    {
        UseKestrel(0);
    }

    /// <summary>Null: the real clock. Fixtures that move time set a fake one.</summary>
    public virtual FakeTimeProvider? Clock => null;

    /// <summary>Settings a fixture adds to (or overrides in) the host's configuration.</summary>
    protected virtual IEnumerable<KeyValuePair<string, string?>> Settings => [];

    public Uri BaseAddress => new(_baseAddress ?? throw new InvalidOperationException("Not started."));

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        StartServer();
        _baseAddress = Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    /// <summary>Settings every fixture of this host starts from; a fixture's <see cref="Settings"/> come after them.</summary>
    protected virtual void ConfigureDefaults(IWebHostBuilder builder)
    {
    }

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        ConfigureDefaults(builder);
        foreach (var (key, value) in Settings)
        {
            builder.UseSetting(key, value);
        }

        if (Clock is { } clock)
        {
            builder.ConfigureServices(s => s.AddSingleton<TimeProvider>(clock));
        }
    }

    public HttpClient Http() => new() { BaseAddress = BaseAddress };
}
