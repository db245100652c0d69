extern alias portal;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using Lanes.Billing.Payments;
using Lanes.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using global::Stripe;

namespace Lanes.Billing.Tests.Payments;

/// <summary>
/// Billing in Stripe mode as the portal hosts it: the webhook endpoint on Kestrel, a Hangfire server on PostgreSQL,
/// Stripe.net pointed at <see cref="FakeStripe"/>, and a fake clock.
/// </summary>
public class BillingWithStripe : IAsyncLifetime
{
    /// <summary>The cluster's lanes (8 of them are the trial pool).</summary>
    protected virtual int TotalLanes => 1000;

    public const string WebhookSecret = "whsec_test_lanes";

    private readonly PostgresDatabase _database = new();
    private WebApplication? _app;

    public FakeStripe Stripe { get; private set; } = null!;

    /// <summary>Changes to the settings a variant of this deployment runs with.</summary>
    protected virtual void Configure(IDictionary<string, string?> settings)
    {
    }

    public FakeTimeProvider Clock { get; } = new(new DateTimeOffset(2026, 11, 2, 10, 30, 0, TimeSpan.Zero));

    public HttpClient Http { get; private set; } = null!;

    public T Get<T>() where T : notnull => _app!.Services.GetRequiredService<T>();

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        Stripe = await FakeStripe.StartAsync();
        Stripe.Now = Clock.GetUtcNow;
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var settings = new Dictionary<string, string?>
        {
            ["ConnectionStrings:Lanes"] = _database.ConnectionString,
            ["Keys:Pepper"] = BillingHost.NewPepper(),
            ["Capacity:Source"] = "Configured",
            ["Capacity:TotalLanes"] = TotalLanes.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Stripe:SecretKey"] = "sk_test_lanes",
            ["Stripe:WebhookSecret"] = WebhookSecret,
            ["Stripe:ApiBase"] = Stripe.ApiBase,
            ["Stripe:MaxNetworkRetries"] = "0",
            ["Stripe:Prices:starter"] = "price_starter",
            ["Stripe:Prices:pro"] = "price_pro",
            ["Stripe:Prices:team"] = "price_team",

            // Pro's price before the current one: its subscribers keep it.
            ["Stripe:LegacyPrices:price_pro_2025"] = "pro",
        };
        Configure(settings);
        builder.Configuration.AddInMemoryCollection(settings);
        builder.AddBilling(BillingRole.Jobs);
        builder.Services.AddSingleton<TimeProvider>(Clock);
        _app = builder.Build();
        portal::Lanes.Portal.Api.Billing.StripeWebhookApi.MapStripeWebhook(_app);
        await _app.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri(_app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()) };
    }

    /// <summary>Delivers an event the way Stripe does: JSON body, signed with the endpoint's secret at a time.</summary>
    public Task<HttpResponseMessage> DeliverAsync(string payload, string secret = WebhookSecret, DateTimeOffset? signedAt = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/stripe/webhook") { Content = new StringContent(payload, Encoding.UTF8, "application/json") };
        request.Headers.Add("Stripe-Signature", EventUtility.GenerateSignatureHeader(payload, secret, (signedAt ?? Clock.GetUtcNow()).ToUnixTimeSeconds()));
        return Http.SendAsync(request);
    }

    /// <summary>Stripe's example event, carrying <paramref name="data"/> as its object.</summary>
    public string Event(string type, JsonObject data, string? id = null)
    {
        var e = FakeStripe.Fixture("event");
        e["id"] = id ?? $"evt_{Guid.NewGuid():N}";
        e["type"] = type;
        e["api_version"] = StripeConfiguration.ApiVersion;
        e["created"] = Clock.GetUtcNow().ToUnixTimeSeconds();
        e["data"] = new JsonObject { ["object"] = data.DeepClone() };
        return e.ToJsonString();
    }

    public virtual async Task DisposeAsync()
    {
        Http.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }

        await Stripe.DisposeAsync();
        await _database.DisposeAsync();
    }
}

/// <summary>Stripe mode on a cluster with 12 paid lanes: two Pro plans fill it.</summary>
public sealed class SmallClusterWithStripe : BillingWithStripe
{
    protected override int TotalLanes => 20;
}

/// <summary>Stripe mode with Stripe Tax on at Checkout.</summary>
public sealed class TaxedBillingWithStripe : BillingWithStripe
{
    protected override void Configure(IDictionary<string, string?> settings) => settings["Stripe:AutomaticTax"] = "true";
}
