using Lanes.Billing.Keys;
using Microsoft.AspNetCore.Hosting;

namespace Lanes.Inference.Tests.Engine.Upstream;

/// <summary>A gateway whose engine is another OpenAI-compatible server: here a second Lanes gateway (scripted).</summary>
public sealed class GatewayBeforeUpstream : IAsyncLifetime
{
    public GatewayOnKestrel Upstream { get; } = new();

    public Front Gateway { get; private set; } = null!;

    public IssuedKey UpstreamKey { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Upstream.InitializeAsync();
        (_, UpstreamKey) = await Upstream.TenantWithKey(budget: 100m);
        Gateway = new Front(Upstream.V1.ToString(), UpstreamKey.Secret);
        await Gateway.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncLifetime)Gateway).DisposeAsync();
        await ((IAsyncLifetime)Upstream).DisposeAsync();
    }

    /// <summary>A gateway in upstream mode serving <c>fleet-model</c> as <paramref name="upstreamId"/> upstream.</summary>
    public sealed class Front(string upstream, string? secret, int contextTokens = 8192, string upstreamId = "scripted") : GatewayOnKestrel
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings =>
        [
            new("Engine:Kind", "upstream"),
            new("Engine:Upstream:BaseUrl", upstream),
            new("Engine:Upstream:ApiKey", secret ?? ""),
            new("Engine:Upstream:Models:0:Id", "fleet-model"),
            new("Engine:Upstream:Models:0:UpstreamId", upstreamId),
            new("Engine:Upstream:Models:0:ContextTokens", contextTokens.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new("Engine:Upstream:Slots", "4"),
            new("Pricing:Models:0:Model", "fleet-model"),
            new("Pricing:Models:0:InputPerMillionUsd", "1"),
            new("Pricing:Models:0:OutputPerMillionUsd", "2"),
            new("Pricing:Models:0:Source", "test"),
            new("Pricing:Models:0:AsOf", "2026-11-01"),
        ];

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            base.ConfigureWebHost(builder);
            builder.UseSetting("Engine:Kind", "upstream");
        }
    }
}
