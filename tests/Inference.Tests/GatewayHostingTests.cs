using Lanes.Billing.GatewayContract;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Inference.Tests;

/// <summary>What a gateway process registers: the data plane and billing's narrow contract, nothing of the control plane.</summary>
public class GatewayHostingTests(ScriptedGateway gateway) : IClassFixture<ScriptedGateway>
{
    [Fact]
    public void The_gateway_starts_with_billings_contract_and_without_payments_jobs_or_billing_actions()
    {
        var services = gateway.Services.GetRequiredService<IServiceProviderIsService>();

        Assert.True(services.IsService(typeof(IKeyStatusFeed)));
        Assert.True(services.IsService(typeof(ILeasePools)));
        Assert.True(services.IsService(typeof(ILaneOccupancy)));
        Assert.True(services.IsService(typeof(IUsageSink)));

        Assert.False(services.IsService(typeof(global::Stripe.StripeClient)));
        Assert.False(services.IsService(typeof(global::Hangfire.JobStorage)));
        Assert.False(services.IsService(typeof(global::Hangfire.IBackgroundJobClient)));
        Assert.False(services.IsService(typeof(Lanes.Billing.Subscriptions.SubscriptionService)));
        Assert.False(services.IsService(typeof(Lanes.Billing.Keys.KeyService)));
    }
}
