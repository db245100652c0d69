using Microsoft.Extensions.Diagnostics.HealthChecks;
using Hangfire;
using Hangfire.PostgreSql;
using Hangfire.PostgreSql.Factories;
using Lanes.Billing.Capacity;
using Lanes.Billing.GatewayContract;
using Lanes.Billing.Infrastructure;
using Lanes.Billing.Jobs;
using Lanes.Billing.Keys;
using Lanes.Billing.Plans;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Lanes.Billing.Windows;
using Lanes.Shared.Hosting;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Npgsql;

namespace Lanes.Billing;

/// <summary>What a host runs of billing besides its services.</summary>
[Flags]
public enum BillingRole
{
    /// <summary>Reads and writes only (the gateway, the CLI).</summary>
    Services = 0,

    /// <summary>Runs a Hangfire server with the recurring jobs.</summary>
    Jobs = 2,
}

public static class BillingHostingExtensions
{
    public const string ConnectionStringName = "Lanes";

    /// <summary>Whether this host creates and updates the schemas at start (<c>Database:ApplySchema</c>, default true).
    /// Note: false where a host connects as a least-privilege role that cannot run DDL; the schemas are then applied
    /// beforehand by the owner (<c>./lanes admin migrate</c>).</summary>
    public static bool AppliesSchema(this IConfiguration configuration) => configuration.GetValue("Database:ApplySchema", true);

    /// <summary>The whole control plane: the store and the gateway contract, and Stripe, Hangfire, the services behind
    /// every user action and the recurring jobs (<paramref name="role"/> says which of those run here).</summary>
    public static IHostApplicationBuilder AddBilling(this IHostApplicationBuilder builder, BillingRole role)
    {
        var (_, connectionString, applySchema) = builder.AddBillingStore(schemaIsOptional: false);
        builder.AddGatewayContractServices();
        var services = builder.Services;
        services.AddOptions<CapacityOptions>().BindConfiguration(CapacityOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CapacityOptions>, CapacityOptionsValidator>();
        services.AddSingleton<FleetCapacity>();
        services.AddSingleton<CapacityLedgerView>();
        services.AddOptions<DunningOptions>().BindConfiguration(DunningOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<DunningOptions>, DunningOptionsValidator>();
        services.AddOptions<InternalBillingOptions>().BindConfiguration(InternalBillingOptions.Section)
            .Validate(o => o.TrialLength > TimeSpan.Zero, "InternalBilling:TrialLength must be positive.").ValidateOnStart();
        services.AddOptions<Notices.NoticeOptions>().BindConfiguration(Notices.NoticeOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<Notices.NoticeOptions>, Notices.NoticeOptionsValidator>();

        services.AddOptions<StripeOptions>().BindConfiguration(StripeOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<StripeOptions>, StripeOptionsValidator>();
        services.AddSingleton<BillingModeInfo>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<StripeOptions>>().Value;
            return new global::Stripe.StripeClient(new global::Stripe.StripeClientOptions
            {
                ApiKey = o.SecretKey ?? "sk_unconfigured",
                ApiBase = o.ApiBase ?? global::Stripe.StripeClient.DefaultApiBase,
                HttpClient = new global::Stripe.SystemNetHttpClient(new HttpClient(), o.MaxNetworkRetries),
            });
        });
        services.AddSingleton<StripeSyncLock>();
        services.AddSingleton<StripeBilling>();
        services.AddSingleton<BillingDetails.BillingContactService>();
        services.AddSingleton<Notices.BillingNoticeQueue>();
        services.AddSingleton<Notices.BillingNoticeSender>();
        services.AddTransient<StripeEventJob>();
        services.AddSingleton<TenantService>();
        services.AddSingleton<SubscriptionService>();
        services.AddSingleton<SubscriptionActions>();
        services.AddSingleton<StripeEventInbox>();
        services.AddSingleton<KeyService>();
        services.AddSingleton<UsageReports>();
        services.AddSingleton<Support.SupportQueries>();
        services.AddSingleton<WindowRoller>();
        services.AddSingleton<DueSubscriptions>();
        services.AddOptions<LaneCredits.LaneCreditOptions>().BindConfiguration(LaneCredits.LaneCreditOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<LaneCredits.LanePromiseFigures>();
        services.AddSingleton<LaneCredits.LaneCreditService>();
        services.AddSingleton<Status.FleetStatus>();
        services.AddSingleton<DueKeys>();
        services.AddTransient<BillingJobs>();

        // Note: Hangfire keeps a process-wide default storage; each host registers its own storage instance so two
        // hosts in one process (tests, or a portal next to a worker) never enqueue into each other's database.
        var hangfireOptions = new PostgreSqlStorageOptions
        {
            SchemaName = "hangfire",
            PrepareSchemaIfNecessary = applySchema,
            QueuePollInterval = TimeSpan.FromSeconds(1),
        };
        services.AddSingleton<JobStorage>(_ => new PostgreSqlStorage(new NpgsqlConnectionFactory(connectionString, hangfireOptions), hangfireOptions));
        services.AddHangfire((sp, c) => c
            .SetDataCompatibilityLevel(CompatibilityLevel.Version_180)
            .UseSimpleAssemblyNameTypeSerializer()
            .UseRecommendedSerializerSettings()
            .UseStorage(sp.GetRequiredService<JobStorage>()));

        // Registered after AddHangfire so they win: clients bound to this host's storage, not the process-wide one.
        // Resolving IGlobalConfiguration first applies this host's Hangfire configuration (its logger factory among it).
        services.AddSingleton<IBackgroundJobClient>(sp => new BackgroundJobClient(
            sp.GetRequiredService<JobStorage>(), Configured(sp).GetService<Hangfire.Common.IJobFilterProvider>() ?? Hangfire.Common.JobFilterProviders.Providers));
        services.AddSingleton<IRecurringJobManager>(sp => new RecurringJobManager(
            sp.GetRequiredService<JobStorage>(), Configured(sp).GetService<Hangfire.Common.IJobFilterProvider>() ?? Hangfire.Common.JobFilterProviders.Providers));
        if (role.HasFlag(BillingRole.Jobs))
        {
            services.AddHostedService<StripeReconciliationRegistration>();
            // The server is built on this host's storage and activator explicitly, never on Hangfire's process-wide defaults.
            services.AddHangfireServer(sp =>
            {
                Configured(sp);
                return new BackgroundJobServer(new BackgroundJobServerOptions
                {
                    WorkerCount = Math.Max(2, Environment.ProcessorCount),
                    SchedulePollingInterval = TimeSpan.FromSeconds(5),
                    Activator = sp.GetService<JobActivator>() ?? new Hangfire.AspNetCore.AspNetCoreJobActivator(sp.GetRequiredService<IServiceScopeFactory>()),
                    FilterProvider = sp.GetService<Hangfire.Common.IJobFilterProvider>() ?? Hangfire.Common.JobFilterProviders.Providers,
                }, sp.GetRequiredService<JobStorage>());
            });
            services.AddHostedService<RecurringJobRegistration>();
        }

        return builder;
    }

    /// <summary>What a gateway needs of billing and nothing more: the store, and the narrow contract it talks through
    /// (key status feed, lease pools, lane occupancy, usage sink). No Stripe, no Hangfire, no identity store.</summary>
    /// <remarks>The schema is applied at start when the database answers, and a database that is away does not stop
    /// the gateway from starting: it serves from what it keeps locally.</remarks>
    public static IHostApplicationBuilder AddGatewayContract(this IHostApplicationBuilder builder)
    {
        builder.AddBillingStore(schemaIsOptional: true);
        builder.AddGatewayContractServices();
        builder.Services.AddOptions<CapacityOptions>().BindConfiguration(CapacityOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<CapacityOptions>, CapacityOptionsValidator>();
        return builder;
    }

    private static void AddGatewayContractServices(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        services.AddSingleton<StreamVersions>();
        services.AddSingleton<DocumentJson>();
        services.AddSingleton<KeyStatusFeed>();
        services.AddSingleton<IKeyStatusFeed>(sp => sp.GetRequiredService<KeyStatusFeed>());
        services.AddSingleton<Leases.LeasePools>();
        services.AddSingleton<ILeasePools>(sp => sp.GetRequiredService<Leases.LeasePools>());
        services.AddSingleton<Occupancy.LaneOccupancyStore>();
        services.AddSingleton<ILaneOccupancy>(sp => sp.GetRequiredService<Occupancy.LaneOccupancyStore>());
        services.AddSingleton<UsageRecorder>();
        services.AddSingleton<KeyUsage>();
        services.AddSingleton<IUsageSink>(sp => sp.GetRequiredService<UsageRecorder>());
    }

    /// <summary>The billing store every host shares: the connection, the Marten store, the plan catalog, the price
    /// table and the key options (the pepper), and the database's readiness check.</summary>
    private static (MartenServiceCollectionExtensions.MartenConfigurationExpression Marten, string ConnectionString, bool ApplySchema) AddBillingStore(
        this IHostApplicationBuilder builder, bool schemaIsOptional)
    {
        var services = builder.Services;
        var connectionString = builder.Configuration.GetConnectionString(ConnectionStringName);
        if (string.IsNullOrWhiteSpace(connectionString))
        {
            throw new InvalidOperationException($"ConnectionStrings:{ConnectionStringName} is required (./lanes up sets it).");
        }

        connectionString = DatabaseConnection.WithFaultDefaults(connectionString);
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<PlanOptions>().BindConfiguration(PlanOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PlanOptions>, PlanOptionsValidator>();
        services.AddOptions<PricingOptions>().BindConfiguration(PricingOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<PricingOptions>, PricingOptionsValidator>();
        services.AddOptions<KeyOptions>().BindConfiguration(KeyOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyOptions>, KeyOptionsValidator>();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<PlanOptions>>().Value.ToCatalog());
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<PricingOptions>>().Value.ToTable());

        services.AddSingleton(_ => NpgsqlDataSource.Create(connectionString));
        var applySchema = builder.Configuration.AppliesSchema();
        var marten = services.AddMarten(opts =>
            {
                BillingStore.Configure(opts, connectionString);
                if (!applySchema)
                {
                    opts.AutoCreateSchemaObjects = JasperFx.AutoCreate.None;
                }
            })
            .UseLightweightSessions();
        if (applySchema && schemaIsOptional)
        {
            services.AddHostedService<BestEffortSchema>();
        }
        else if (applySchema)
        {
            marten.ApplyAllDatabaseChangesOnStartup();
        }

        // Readiness, never liveness: restarting a process does not bring its database back. Bounded in time, so a
        // database that does not answer (a dropped network) cannot hold a probe past its own timeout.
        services.AddHealthChecks().AddCheck<DatabaseHealthCheck>(LanesHealth.DatabaseCheck, tags: [LanesHealth.ReadinessTag], timeout: TimeSpan.FromSeconds(2));
        return (marten, connectionString, applySchema);
    }

    private static IServiceProvider Configured(IServiceProvider sp)
    {
        sp.GetRequiredService<IGlobalConfiguration>();
        return sp;
    }
}

/// <summary>The nightly Stripe reconciliation, only in Stripe mode.</summary>
internal sealed class StripeReconciliationRegistration(IRecurringJobManager jobs, BillingModeInfo mode) : IHostedService
{
    public const string JobId = "billing:stripe-reconcile";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (mode.Mode == BillingMode.Stripe)
        {
            jobs.AddOrUpdate<StripeEventJob>(JobId, j => j.ReconcileAsync(CancellationToken.None), Cron.Daily(3), new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc });
        }
        else
        {
            jobs.RemoveIfExists(JobId);
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}

/// <summary>Registers the recurring jobs once the host starts (idempotent: ids are stable).</summary>
internal sealed class RecurringJobRegistration(IRecurringJobManager jobs) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        BillingJobs.Register(jobs);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
