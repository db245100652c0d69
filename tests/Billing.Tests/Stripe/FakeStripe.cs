using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lanes.Billing.Tests.Stripe;

/// <summary>What Stripe.net sent: the form fields and the idempotency key.</summary>
public sealed record StripeRequest(string Method, string Path, IReadOnlyDictionary<string, string> Form, string? IdempotencyKey);

/// <summary>
/// Stripe's API replayed on loopback from Stripe's own documented objects (../shared/stripe/fixtures3.json), changing
/// only the fields a test is about. Stripe.net talks to it over real HTTP; every request is recorded.
/// </summary>
public sealed class FakeStripe : IAsyncDisposable
{
    private static readonly Lazy<JsonObject> Fixtures = new(() =>
        (JsonObject)JsonNode.Parse(File.ReadAllText(FixturePath()))!["resources"]!);

    private readonly WebApplication _app;
    private int _ids;

    private FakeStripe(WebApplication app) => _app = app;

    public ConcurrentQueue<StripeRequest> Requests { get; } = new();

    public ConcurrentDictionary<string, JsonObject> Subscriptions { get; } = new();

    public string ApiBase { get; private set; } = "";

    /// <summary>Stripe's "now" (the test's clock, so a session's 24 hours pass when the test moves time).</summary>
    public Func<DateTimeOffset> Now { get; set; } = () => DateTimeOffset.UtcNow;

    /// <summary>The next subscription update asks for payment instead of applying (a declined card or 3-D Secure with
    /// <c>payment_behavior=pending_if_incomplete</c>): Stripe leaves the items as they were and sets
    /// <c>pending_update</c> and an open <c>latest_invoice</c>.</summary>
    public bool NextUpdateNeedsPayment { get; set; }

    /// <summary>The next request answers this Stripe error (type, code, message, HTTP status), as Stripe does.</summary>
    public (string Type, string Code, string Message, int Status)? NextError { get; set; }

    /// <summary>Checkout sessions as Stripe holds them, by id.</summary>
    public ConcurrentDictionary<string, JsonObject> Sessions { get; } = new();

    public static JsonObject Fixture(string type) => (JsonObject)Fixtures.Value[type]!.DeepClone();

    public static async Task<FakeStripe> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var stripe = new FakeStripe(app);
        stripe.Map(app);
        await app.StartAsync();
        stripe.ApiBase = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return stripe;
    }

    /// <summary>Puts a subscription into Stripe's world as Stripe would return it.</summary>
    public JsonObject PutSubscription(string id, string customer, Guid tenantId, string status, string price, DateTimeOffset periodStart, DateTimeOffset periodEnd, bool cancelAtPeriodEnd = false)
    {
        var s = Fixture("subscription");
        s["id"] = id;
        s["customer"] = customer;
        s["status"] = status;
        s["cancel_at_period_end"] = cancelAtPeriodEnd;
        s["pending_update"] = null; // Stripe's example shows one; a subscription normally has none
        s["metadata"] = new JsonObject { ["tenant_id"] = tenantId.ToString() };
        var item = (JsonObject)s["items"]!["data"]![0]!;
        item["id"] = $"si_{id}";
        item["subscription"] = id;
        item["price"]!["id"] = price;
        item["current_period_start"] = periodStart.ToUnixTimeSeconds();
        item["current_period_end"] = periodEnd.ToUnixTimeSeconds();
        Subscriptions[id] = s;
        return s;
    }

    public IEnumerable<StripeRequest> To(string method, string pathStart) =>
        Requests.Where(r => r.Method == method && r.Path.StartsWith(pathStart, StringComparison.Ordinal));

    private void Map(WebApplication app)
    {
        app.Use(async (http, next) =>
        {
            var form = new Dictionary<string, string>(StringComparer.Ordinal);
            if (http.Request.HasFormContentType)
            {
                foreach (var (key, value) in await http.Request.ReadFormAsync())
                {
                    form[key] = value.ToString();
                }
            }

            http.Items["form"] = form;
            Requests.Enqueue(new StripeRequest(http.Request.Method, http.Request.Path + http.Request.QueryString, form,
                http.Request.Headers["Idempotency-Key"].FirstOrDefault()));
            if (NextError is { } error)
            {
                NextError = null;
                http.Response.StatusCode = error.Status;
                http.Response.ContentType = "application/json";
                await http.Response.WriteAsync(new JsonObject
                {
                    ["error"] = new JsonObject { ["type"] = error.Type, ["code"] = error.Code, ["message"] = error.Message },
                }.ToJsonString());
                return;
            }

            await next(http);
        });

        app.MapPost("/v1/customers", (HttpContext http) =>
        {
            var c = Fixture("customer");
            c["id"] = $"cus_{Interlocked.Increment(ref _ids)}";
            c["email"] = Form(http).GetValueOrDefault("email");
            c["metadata"] = Metadata(Form(http), "metadata");
            return Json(c);
        });
        app.MapPost("/v1/customers/{id}", (string id, HttpContext http) =>
        {
            // As Stripe answers an update: the fields sent, the rest as Stripe's example customer has them.
            var c = Fixture("customer");
            c["id"] = id;
            c["email"] = Form(http).GetValueOrDefault("email");
            c["name"] = Form(http).GetValueOrDefault("name");
            foreach (var field in (string[])["line1", "line2", "city", "postal_code", "state", "country"])
            {
                c["address"]![field] = Form(http).GetValueOrDefault($"address[{field}]");
            }

            return Json(c);
        });
        app.MapPost("/v1/checkout/sessions", (HttpContext http) =>
        {
            var s = Fixture("checkout.session");
            var id = $"cs_test_{Interlocked.Increment(ref _ids)}";
            s["id"] = id;
            s["mode"] = "subscription";
            s["customer"] = Form(http).GetValueOrDefault("customer");
            s["url"] = $"https://checkout.stripe.com/c/pay/{id}";
            s["metadata"] = Metadata(Form(http), "metadata");
            s["status"] = "open";
            s["expires_at"] = Now().AddHours(24).ToUnixTimeSeconds();
            Sessions[id] = s;
            return Json(s);
        });
        app.MapPost("/v1/checkout/sessions/{id}/expire", (string id) =>
        {
            if (!Sessions.TryGetValue(id, out var s))
            {
                return Missing(id);
            }

            s["status"] = "expired";
            return Json(s);
        });
        app.MapPost("/v1/billing_portal/sessions", (HttpContext http) =>
        {
            var s = Fixture("billing_portal.session");
            s["customer"] = Form(http).GetValueOrDefault("customer");
            s["url"] = "https://billing.stripe.com/p/session/test_portal";
            return Json(s);
        });
        app.MapGet("/v1/subscriptions/{id}", (string id) =>
            Subscriptions.TryGetValue(id, out var s) ? Json(s) : Missing(id));
        app.MapPost("/v1/subscriptions/{id}", (string id, HttpContext http) =>
        {
            if (!Subscriptions.TryGetValue(id, out var s))
            {
                return Missing(id);
            }

            var form = Form(http);
            if (NextUpdateNeedsPayment && form.TryGetValue("items[0][price]", out var wanted))
            {
                NextUpdateNeedsPayment = false;
                var pending = (JsonObject)s.DeepClone();
                pending["pending_update"] = new JsonObject
                {
                    ["expires_at"] = Now().AddHours(23).ToUnixTimeSeconds(),
                    ["subscription_items"] = new JsonArray(new JsonObject { ["id"] = $"si_{id}", ["price"] = new JsonObject { ["id"] = wanted, ["object"] = "price" } }),
                };
                var invoice = Fixture("invoice");
                invoice["id"] = $"in_pending_{id}";
                invoice["status"] = "open";
                invoice["hosted_invoice_url"] = $"https://invoice.stripe.com/i/pending_{id}";
                pending["latest_invoice"] = invoice;
                return Json(pending);
            }

            if (form.TryGetValue("items[0][price]", out var price))
            {
                s["items"]!["data"]![0]!["price"]!["id"] = price;
            }

            if (form.TryGetValue("cancel_at_period_end", out var cancel))
            {
                s["cancel_at_period_end"] = cancel == "true";
            }

            return Json(s);
        });
        app.MapDelete("/v1/subscriptions/{id}", (string id) =>
        {
            if (!Subscriptions.TryGetValue(id, out var s))
            {
                return Missing(id);
            }

            s["status"] = "canceled";
            s["canceled_at"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            return Json(s);
        });
        app.MapGet("/v1/subscriptions", () => Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(Subscriptions.Values.Select(s => (JsonNode)s.DeepClone()).ToArray()),
            ["has_more"] = false,
            ["url"] = "/v1/subscriptions",
        }));
        app.MapGet("/v1/invoices", (string? customer) =>
        {
            var invoice = Fixture("invoice");
            invoice["id"] = "in_test_1";
            invoice["customer"] = customer;
            invoice["number"] = "LANES-0001";
            invoice["total"] = 5000;
            invoice["amount_paid"] = 5000;
            invoice["currency"] = "usd";
            invoice["status"] = "paid";
            invoice["hosted_invoice_url"] = "https://invoice.stripe.com/i/test_1";
            return Json(new JsonObject { ["object"] = "list", ["data"] = new JsonArray(invoice), ["has_more"] = false, ["url"] = "/v1/invoices" });
        });
        app.MapPost("/v1/invoices/create_preview", () =>
        {
            // As Stripe previews an upgrade: the unused time credited, the remaining time charged (both proration
            // lines), and the next period's charge, which the change does not cost.
            var invoice = Fixture("invoice");
            invoice["amount_due"] = 6234;
            invoice["currency"] = "usd";
            invoice["lines"] = new JsonObject
            {
                ["object"] = "list",
                ["has_more"] = false,
                ["url"] = "/v1/invoices/upcoming/lines",
                ["data"] = new JsonArray(Line("il_unused", "Unused time on Starter", -500, proration: true), Line("il_remaining", "Remaining time on Team", 1734, proration: true), Line("il_next", "Team (next period)", 5000, proration: false)),
            };
            return Json(invoice);
        });
    }

    private static JsonObject Line(string id, string description, long amount, bool proration) => new()
    {
        ["id"] = id,
        ["object"] = "line_item",
        ["amount"] = amount,
        ["currency"] = "usd",
        ["description"] = description,
        ["parent"] = new JsonObject
        {
            ["type"] = "subscription_item_details",
            ["subscription_item_details"] = new JsonObject { ["proration"] = proration, ["subscription"] = "sub", ["subscription_item"] = "si" },
        },
    };

    private static Dictionary<string, string> Form(HttpContext http) => (Dictionary<string, string>)http.Items["form"]!;

    private static JsonObject Metadata(Dictionary<string, string> form, string prefix)
    {
        var metadata = new JsonObject();
        foreach (var (key, value) in form.Where(f => f.Key.StartsWith(prefix + "[", StringComparison.Ordinal)))
        {
            metadata[key[(prefix.Length + 1)..^1]] = value;
        }

        return metadata;
    }

    private static IResult Json(JsonNode body) => Results.Text(body.ToJsonString(), "application/json");

    private static IResult Missing(string id) => Results.Text(
        new JsonObject { ["error"] = new JsonObject { ["type"] = "invalid_request_error", ["code"] = "resource_missing", ["message"] = $"No such subscription: '{id}'" } }.ToJsonString(),
        "application/json", statusCode: 404);

    private static string FixturePath()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "stripe", "fixtures3.json");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new FileNotFoundException("Stripe's fixtures (../shared/stripe/fixtures3.json beside the checkout) were not found.");
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
