using Lanes.Billing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Lanes.Testing;

/// <summary>
/// Billing's control plane beside a gateway: its services on the gateway's database, settings and clock, so a test
/// arranges tenants, subscriptions and keys the way the portal would. The gateway itself registers only the narrow
/// contract it serves through; what a test does to billing happens here, as it would in another process.
/// </summary>
public sealed class ControlPlaneBeside : IAsyncDisposable
{
    private readonly IHost _host;

    private ControlPlaneBeside(IHost host) => _host = host;

    public IServiceProvider Services => _host.Services;

    /// <summary>Builds it from the gateway's configuration (connection, pepper, plans, prices) and clock. Not started:
    /// nothing runs in the background, its services are called directly.</summary>
    public static ControlPlaneBeside For(IServiceProvider gateway)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Configuration.AddConfiguration(gateway.GetRequiredService<IConfiguration>());
        builder.AddBilling(BillingRole.Services);
        builder.Services.AddSingleton(gateway.GetRequiredService<TimeProvider>());
        return new ControlPlaneBeside(builder.Build());
    }

    /// <summary>A gateway's service when it has one, else billing's.</summary>
    public static T Get<T>(IServiceProvider gateway, ref ControlPlaneBeside? beside) where T : notnull =>
        gateway.GetService<T>() ?? (beside ??= For(gateway)).Services.GetRequiredService<T>();

    public async ValueTask DisposeAsync()
    {
        if (_host is IAsyncDisposable disposable)
        {
            await disposable.DisposeAsync();
        }
        else
        {
            _host.Dispose();
        }
    }
}
