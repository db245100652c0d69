using System.ClientModel;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Inference.Auth;
using Lanes.Testing;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;
using OpenAI;
using OpenAI.Chat;

namespace Lanes.Inference.Tests;

/// <summary>The gateway on real Kestrel (a loopback port), on its own database, with the scripted engine.</summary>
public class GatewayOnKestrel : OnKestrel<Program>
{
    public Uri V1 => new(BaseAddress, "/v1");

    protected override void ConfigureDefaults(IWebHostBuilder builder)
    {
        // The engine the tests rely on, whatever appsettings.Development.json sets for the demo.
        builder.UseSetting("Engine:Kind", "scripted");
        builder.UseSetting("Engine:Scripted:Model", "scripted");
        builder.UseSetting("Engine:Scripted:Tokens", "16");
        builder.UseSetting("Engine:Scripted:TokenDelay", "00:00:00");
        builder.UseSetting("Engine:Scripted:Slots", "8");
        builder.UseSetting("Gateway:Keys:PollInterval", "00:00:00.100");
        builder.UseSetting("Gateway:Metering:FlushInterval", "00:00:00.200");
    }

    private ControlPlaneBeside? _billing;

    /// <summary>A gateway service, or (for arranging tenants and keys) one of billing's beside it.</summary>
    public T Get<T>() where T : notnull => ControlPlaneBeside.Get<T>(Services, ref _billing);

    public override async ValueTask DisposeAsync()
    {
        if (_billing is not null)
        {
            await _billing.DisposeAsync();
        }

        await base.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    public ChatClient Chat(string secret, string model = "scripted") =>
        new(model, new ApiKeyCredential(secret), new OpenAIClientOptions { Endpoint = V1 });

    public OpenAIClient OpenAi(string secret) => new(new ApiKeyCredential(secret), new OpenAIClientOptions { Endpoint = V1 });

    /// <summary>A tenant on a plan with a key, visible to the gateway before this returns.</summary>
    public async Task<(Tenant Tenant, IssuedKey Key)> TenantWithKey(string plan = "pro", decimal budget = 5m, IReadOnlyList<string>? models = null)
    {
        var tenant = await Get<TenantService>().CreateAsync($"t-{Guid.NewGuid():N}"[..20], "Gateway test", "test");
        await Get<SubscriptionService>().StartAsync(tenant.Id, plan, "test");
        var key = await Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("test", budget, Models: models), "test");
        await Get<KeyDirectoryRefresher>().RefreshAsync(CancellationToken.None);
        return (tenant, key);
    }
}
