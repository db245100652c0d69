using Lanes.Shared.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Inference.Admission;
using Lanes.Inference.Api;
using Lanes.Inference.Api.Anthropic;
using Lanes.Inference.Api.Responses;
using Lanes.Inference.Auth;
using Lanes.Inference.Budgets;
using Lanes.Inference.Engine;
using Lanes.Inference.Infrastructure;
using Lanes.Inference.Engine.Scripted;
using Lanes.Inference.Engine.Torch;
using Lanes.Inference.Engine.Upstream;
using Lanes.Inference.LaneScheduling;
using Lanes.Inference.Metering;
using Lanes.Inference.Metrics;
using Lanes.Shared.Pricing;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;

namespace Lanes.Inference;

public static partial class GatewayHostingExtensions
{
    /// <summary>The data plane: key directory, budgets, lanes, metering, the engine named by <c>Engine:Kind</c>.</summary>
    public static IHostApplicationBuilder AddGateway(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<GatewayOptions>().BindConfiguration(GatewayOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<GatewayOptions>, GatewayOptionsValidator>();

        // Graceful shutdown: the web server stops taking requests and lets running streams finish within the drain time.
        services.AddOptions<HostOptions>().Configure<IOptions<GatewayOptions>>((host, gateway) => host.ShutdownTimeout = gateway.Value.DrainTimeout + UsageFlusher.FinalFlushTimeout + TimeSpan.FromSeconds(5));
        services.AddOptions<LaneOptions>().BindConfiguration(LaneOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<LaneOptions>, LaneOptionsValidator>();
        services.AddOptions<KeyDirectoryOptions>().BindConfiguration(KeyDirectoryOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyDirectoryOptions>, KeyDirectoryOptionsValidator>();
        services.AddOptions<MeteringOptions>().BindConfiguration(MeteringOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MeteringOptions>, MeteringOptionsValidator>();

        var kind = builder.Configuration["Engine:Kind"] ?? "torch";
        switch (kind)
        {
            case "torch":
                services.AddOptions<TorchEngineOptions>().BindConfiguration(TorchEngineOptions.Section).ValidateOnStart();
                services.AddSingleton<IValidateOptions<TorchEngineOptions>, TorchEngineOptionsValidator>();
                services.AddSingleton<TorchEngine>();
                services.AddSingleton<IInferenceEngine>(sp => sp.GetRequiredService<TorchEngine>());
                break;
            case "scripted":
                services.AddOptions<ScriptedEngineOptions>().BindConfiguration(ScriptedEngineOptions.Section).ValidateOnStart();
                services.AddSingleton<IValidateOptions<ScriptedEngineOptions>, ScriptedEngineOptionsValidator>();
                services.AddSingleton<IInferenceEngine, ScriptedEngine>();
                break;
            case "upstream":
                services.AddOptions<UpstreamEngineOptions>().BindConfiguration(UpstreamEngineOptions.Section).ValidateOnStart();
                services.AddSingleton<IValidateOptions<UpstreamEngineOptions>, UpstreamEngineOptionsValidator>();
                services.AddSingleton<IInferenceEngine>(sp => new UpstreamEngine(UpstreamEngine.CreateInvoker(), sp.GetRequiredService<IOptions<UpstreamEngineOptions>>()));
                break;
            default:
                throw new InvalidOperationException($"Engine:Kind '{kind}' is not known; use 'torch', 'scripted' or 'upstream'.");
        }

        services.AddSingleton<KeyDirectory>();
        services.AddSingleton<KeyDirectorySnapshot>();
        services.AddSingleton<KeyDirectoryRefresher>();
        services.AddHostedService(sp => sp.GetRequiredService<KeyDirectoryRefresher>());
        services.AddOptions<BudgetLeaseOptions>().BindConfiguration(BudgetLeaseOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BudgetLeaseOptions>, BudgetLeaseOptionsValidator>();
        services.AddSingleton<LeaseCircuit>();
        services.AddSingleton<BudgetLedger>();
        services.AddHostedService<BudgetLeaseKeeper>();
        services.AddSingleton<RequestWindows>();
        services.AddSingleton<LaneScheduler>();
        services.AddSingleton<GatewayNode>();
        services.AddHostedService<OccupancyReporter>();
        services.AddOptions<PlacementOptions>().BindConfiguration(PlacementOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PlacementOptions>, PlacementOptionsValidator>();
        services.AddSingleton<PlacementService>();
        services.AddHostedService(sp => sp.GetRequiredService<PlacementService>());
        services.AddSingleton<UsageMeter>();
        services.AddSingleton<RequestDrain>();
        services.AddHealthChecks()
            .AddCheck<DrainReadiness>("drain", tags: [LanesHealth.ReadinessTag])
            .AddCheck<KeyDirectoryReadiness>("keys", tags: [LanesHealth.ReadinessTag]);

        // A gateway serves from memory (keys, leased budgets, the usage spool) while PostgreSQL is away: the database
        // shows as degraded in /readyz, and never takes the gateway out of the load balancer.
        services.PostConfigure<HealthCheckServiceOptions>(o =>
        {
            foreach (var check in o.Registrations.Where(r => r.Name == LanesHealth.DatabaseCheck))
            {
                check.FailureStatus = HealthStatus.Degraded;
            }
        });
        services.AddSingleton<UsageSpool>();
        services.AddSingleton<UsageFlusher>();
        services.AddHostedService(sp => sp.GetRequiredService<UsageFlusher>());
        services.AddSingleton<GatewayMetrics>();
        services.AddOptions<MetricsOptions>().BindConfiguration(MetricsOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<MetricsOptions>, MetricsOptionsValidator>();
        services.AddSingleton<AdmissionPipeline>();
        services.AddSingleton<IValidateOptions<KeyOptions>, EveryServedModelIsPriced>();
        services.AddHostedService<CapacityCheck>();

        services.AddOpenTelemetry().WithMetrics(m => m
            .AddMeter(GatewayMetrics.MeterName)
            .AddPrometheusExporter());
        return builder;
    }

    public static WebApplication MapGateway(this WebApplication app)
    {
        app.MapOpenAiApi();
        app.MapMessagesApi();
        app.MapResponsesApi();
        app.UseMetricsAccess();

        // Created now, not at the first request: the fleet and lane gauges are in the first scrape after a start.
        app.Services.GetRequiredService<GatewayMetrics>();
        app.MapPrometheusScrapingEndpoint(MetricsAccess.Path);
        return app;
    }

    /// <summary>A served model without a price could not be budgeted: refuse to start instead.</summary>
    private sealed class EveryServedModelIsPriced(IInferenceEngine engine, PriceTable prices) : IValidateOptions<KeyOptions>
    {
        public ValidateOptionsResult Validate(string? name, KeyOptions options)
        {
            var unpriced = engine.Models.Where(m => !prices.Knows(m.Id)).Select(m => m.Id).ToList();
            return unpriced.Count == 0
                ? ValidateOptionsResult.Success
                : ValidateOptionsResult.Fail($"Pricing:Models has no price for served model(s): {string.Join(", ", unpriced)}.");
        }
    }

    /// <summary>With a typed capacity (<c>Capacity:Source=Configured</c>) billing sells up to <c>Capacity:TotalLanes</c>,
    /// which nothing ties to the engines; the default (<c>Fleet</c>) sells what the gateways report, so needs no warning.</summary>
    private sealed partial class CapacityCheck(IInferenceEngine engine, IOptions<Lanes.Billing.Capacity.CapacityOptions> capacity, ILogger<CapacityCheck> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            if (capacity.Value.Source == Lanes.Billing.Capacity.CapacitySource.Configured && capacity.Value.TotalLanes > engine.Slots)
            {
                Log.Oversold(logger, capacity.Value.TotalLanes, engine.Slots);
            }

            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        private static partial class Log
        {
            [LoggerMessage(EventId = 4201, Level = LogLevel.Warning,
                Message = "Capacity:TotalLanes is {TotalLanes} but this node's engine runs {Slots} at once: reservations beyond {Slots} are not guaranteed here")]
            public static partial void Oversold(ILogger logger, int totalLanes, int slots);
        }
    }
}
