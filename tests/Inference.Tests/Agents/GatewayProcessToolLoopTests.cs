using System.Net;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Inference.Tests.Engine.Torch;
using Lanes.Testing;

namespace Lanes.Inference.Tests.Agents;

/// <summary>
/// The gateway started the way <c>./lanes up</c> starts it (<c>dotnet run</c> of src/Inference in Development, its
/// own process, on PostgreSQL) serving <c>lanes-demo</c> on the torch engine (the tiny model standing in for the
/// trained demo weights, which take minutes to train).
/// </summary>
public sealed class GatewayProcessOnTorch : BillingHost
{
    public ServiceProcess Gateway { get; private set; } = null!;

    protected override bool RealClock => true;

    public override async Task InitializeAsync()
    {
        await base.InitializeAsync();
        var settings = GatewayProcesses.Settings(this, "torch-node", slots: 4, tokens: 16, TimeSpan.Zero,
            report: TimeSpan.FromSeconds(1), nodeTimeout: TimeSpan.FromSeconds(10), placementInterval: TimeSpan.FromSeconds(1));
        settings["Engine__Kind"] = "torch";
        settings["Engine__Torch__ModelPath"] = TinyModel.Path_;
        settings["Engine__Torch__ModelId"] = "lanes-demo";
        settings["Engine__Torch__Slots"] = "4";
        settings["Engine__Torch__ContextTokens"] = "2048";
        settings["Engine__Torch__Threads"] = "1";
        settings["Engine__Torch__Device"] = "cpu";
        Gateway = await ServiceProcess.StartAsync("inference", "Inference", settings);
    }

    public override async Task DisposeAsync()
    {
        await Gateway.DisposeAsync();
        await base.DisposeAsync();
    }
}

public class GatewayProcessToolLoopTests(GatewayProcessOnTorch stack) : IClassFixture<GatewayProcessOnTorch>
{
    [Theory]
    [InlineData("openai-tool-loop.mjs")]
    [InlineData("openai-responses.mjs")]
    [InlineData("anthropic-messages.mjs")]
    public async Task Each_official_sdk_runs_its_tool_loop_against_the_gateway_process_on_the_demo_model_id(string script)
    {
        var secret = await KeyAsync(50m);
        var tiny = await KeyAsync(0.000001m);
        var environment = AgentClientTests.Environment(secret, "lanes-demo", "model", new Uri(stack.Gateway.BaseAddress, "/v1"));
        environment["LANES_ROOT_URL"] = stack.Gateway.BaseAddress.ToString().TrimEnd('/');
        environment["LANES_TINY_KEY"] = tiny;

        var (exit, output) = await NodeClient.RunAsync("node", [script], environment, TimeSpan.FromMinutes(3));

        Assert.True(exit == 0, output + "\n" + stack.Gateway.Output);
    }

    private async Task<string> KeyAsync(decimal budget)
    {
        var tenant = await stack.Get<TenantService>().CreateAsync($"t-{Guid.NewGuid():N}"[..20], "Agent test", "test");
        await stack.Get<SubscriptionService>().StartAsync(tenant.Id, "pro", "test");
        var key = await stack.Get<KeyService>().IssueAsync(tenant.Id, new KeyRequest("agent", budget), "test");
        await Eventually.Get(() => GatewayProcesses.StatusAsync(stack.Gateway, key.Secret), s => s == HttpStatusCode.OK,
            TimeSpan.FromSeconds(10), "the gateway to know the new key");
        return key.Secret;
    }
}
