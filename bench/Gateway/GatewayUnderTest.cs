using Lanes.Shared.Hosting;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Inference;
using Lanes.Inference.Auth;
using Lanes.Testing;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Lanes.Gateway.Bench;

/// <summary>The gateway composed as Program.cs composes it, on Kestrel, plus a bare endpoint for the baseline.</summary>
internal sealed class GatewayUnderTest : IAsyncDisposable
{
    private readonly WebApplication _app;

    private GatewayUnderTest(WebApplication app, string address)
    {
        _app = app;
        Address = new Uri(address);
    }

    public Uri Address { get; }

    public IServiceProvider Services => _app.Services;

    public static async Task<GatewayUnderTest> StartAsync(
        string connectionString, IDictionary<string, string?> settings, byte[]? bareBody = null, IReadOnlyList<byte[]>? bareEvents = null)
    {
        var builder = WebApplication.CreateBuilder(["--urls", "http://127.0.0.1:0", "--environment", "Production"]);
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["ConnectionStrings:Lanes"] = connectionString,
            ["Keys:Pepper"] = BillingHost.NewPepper(),
            ["Capacity:TotalLanes"] = "100000",
            ["Gateway:Keys:PollInterval"] = "00:00:00.100",
        });
        builder.Configuration.AddInMemoryCollection(settings);

        // Experiments without editing the bench: LANES_BENCH_SETTINGS="Gateway:Budgets:IdleReturn=00:10:00;…".
        builder.Configuration.AddInMemoryCollection((Environment.GetEnvironmentVariable("LANES_BENCH_SETTINGS") ?? "")
            .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(pair => pair.Split('=', 2))
            .Select(kv => new KeyValuePair<string, string?>(kv[0], kv.ElementAtOrDefault(1))));
        builder.AddGatewayContract();
        builder.AddGateway();
        var app = builder.Build();
        app.MapLanesHealth();
        app.MapGateway();
        if (bareBody is not null)
        {
            // The baseline: identical bytes, no authentication, lanes, budgets or metering.
            app.MapPost("/bare/chat/completions", async (HttpContext http) =>
            {
                await http.Request.Body.CopyToAsync(Stream.Null);
                http.Response.ContentType = "application/json; charset=utf-8";
                await http.Response.Body.WriteAsync(bareBody);
            });
            app.MapLayers(bareBody);
        }

        if (bareEvents is not null)
        {
            // The streaming baseline: the gateway's own events, each written and flushed on its own, as a minimal
            // server-sent-events endpoint does, with no authentication, lanes, budgets, metering or engine.
            app.MapPost("/bare/stream/chat/completions", async (HttpContext http) =>
            {
                await http.Request.Body.CopyToAsync(Stream.Null);
                http.Response.ContentType = "text/event-stream";
                foreach (var e in bareEvents)
                {
                    await http.Response.Body.WriteAsync(e);
                    await http.Response.Body.FlushAsync();
                }
            });
        }

        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new GatewayUnderTest(app, address);
    }

    private ControlPlaneBeside? _billing;

    public T Get<T>() where T : notnull => ControlPlaneBeside.Get<T>(_app.Services, ref _billing);

    public async Task<(Guid Tenant, IssuedKey Key)> TenantWithKeyAsync(string plan, decimal budget)
    {
        var tenant = await Get<TenantService>().CreateAsync($"b-{Guid.NewGuid():N}"[..20], "Bench", "bench");
        await Get<SubscriptionService>().StartAsync(tenant.Id, plan, "bench");
        var key = await Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("bench", budget), "bench");
        await Get<KeyDirectoryRefresher>().RefreshAsync(CancellationToken.None);
        return (tenant.Id, key);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_billing is not null)
        {
            await _billing.DisposeAsync();
        }
    }
}
