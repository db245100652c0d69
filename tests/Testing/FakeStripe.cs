using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lanes.Testing;

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
    private readonly ConcurrentDictionary<string, (int Status, string Body)> _replies = new();
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _gates = new();
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

    /// <summary>Each customer's balance in cents, as their balance transactions left it (negative: credit).</summary>
    public ConcurrentDictionary<string, long> Balances { get; } = new();

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
    public JsonObject PutSubscription(
        string id, string customer, Guid tenantId, string status, string price, DateTimeOffset periodStart, DateTimeOffset periodEnd, bool cancelAtPeriodEnd = false, long quantity = 1)
    {
        var s = Fixture("subscription");
        s["id"] = id;
        s["customer"] = customer;
        s["status"] = status;
        s["cancel_at_period_end"] = cancelAtPeriodEnd;

        // Stripe's example shows a pending update, a pause and a cancel date; a subscription normally has none. Since
        // 2025 Stripe sets cancel_at to the period end when cancel_at_period_end is set.
        s["cancel_at"] = cancelAtPeriodEnd ? periodEnd.ToUnixTimeSeconds() : null;
        s["pending_update"] = null;
        s["pause_collection"] = null;
        s["schedule"] = null;
        s["metadata"] = new JsonObject { ["tenant_id"] = tenantId.ToString() };
        var item = (JsonObject)s["items"]!["data"]![0]!;
        item["id"] = $"si_{id}";
        item["subscription"] = id;
        item["quantity"] = quantity;
        item["price"]!["id"] = price;
        item["current_period_start"] = periodStart.ToUnixTimeSeconds();
        item["current_period_end"] = periodEnd.ToUnixTimeSeconds();
        Subscriptions[id] = s;
        return s;
    }

    /// <summary>Charges as Stripe holds them, by id (disputes name only their charge).</summary>
    public ConcurrentDictionary<string, JsonObject> Charges { get; } = new();

    /// <summary>Disputes and credit notes as Stripe holds them, by id: a test changes one and delivers its event.</summary>
    public ConcurrentDictionary<string, JsonObject> Disputes { get; } = new();

    public ConcurrentDictionary<string, JsonObject> CreditNotes { get; } = new();

    /// <summary>Puts a paid charge of the customer into Stripe's world, as Stripe's example charge.</summary>
    public JsonObject PutCharge(string id, string customer, long amount, string currency = "usd")
    {
        var c = Fixture("charge");
        c["id"] = id;
        c["customer"] = customer;
        c["amount"] = amount;
        c["amount_captured"] = amount;
        c["amount_refunded"] = 0;
        c["refunded"] = false;
        c["currency"] = currency;
        c["receipt_url"] = $"https://pay.stripe.com/receipts/payment/{id}";
        Charges[id] = c;
        return c;
    }

    /// <summary>What was paid on an invoice (invoice id → payment intent and amount), as Stripe lists invoice payments.</summary>
    public ConcurrentDictionary<string, (string PaymentIntent, long Amount)> InvoicePayments { get; } = new();

    /// <summary>Refunds Stripe made, by id.</summary>
    public ConcurrentDictionary<string, JsonObject> Refunds { get; } = new();

    /// <summary>Subscription schedules as Stripe holds them, by id.</summary>
    public ConcurrentDictionary<string, JsonObject> Schedules { get; } = new();

    /// <summary>What Stripe does when a scheduled subscription reaches its next phase: the phase's price is billed
    /// from the old period end, and the subscription renews into a new period.</summary>
    public JsonObject EnterNextPhase(string subscriptionId)
    {
        var s = Subscriptions[subscriptionId];
        var schedule = Schedules[s["schedule"]!.GetValue<string>()];
        var phases = (JsonArray)schedule["phases"]!;
        var next = phases[1]!;
        var item = (JsonObject)s["items"]!["data"]![0]!;
        var start = item["current_period_end"]!.GetValue<long>();
        item["price"]!["id"] = next["items"]![0]!["price"]!.GetValue<string>();
        item["current_period_start"] = start;
        item["current_period_end"] = DateTimeOffset.FromUnixTimeSeconds(start).AddMonths(1).ToUnixTimeSeconds();
        schedule["current_phase"] = new JsonObject { ["start_date"] = start, ["end_date"] = item["current_period_end"]!.GetValue<long>() };
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

            // As Stripe does: a POST repeated with the same Idempotency-Key gets the first response back and changes
            // nothing (Stripe makes one refund, one customer...); concurrent repeats wait for the first.
            var idempotencyKey = http.Request.Headers["Idempotency-Key"].FirstOrDefault();
            if (HttpMethods.IsPost(http.Request.Method) && idempotencyKey is not null)
            {
                var gate = _gates.GetOrAdd(idempotencyKey, _ => new SemaphoreSlim(1, 1));
                await gate.WaitAsync();
                try
                {
                    if (_replies.TryGetValue(idempotencyKey, out var reply))
                    {
                        http.Response.StatusCode = reply.Status;
                        http.Response.ContentType = "application/json";
                        http.Response.Headers["Idempotent-Replayed"] = "true";
                        await http.Response.WriteAsync(reply.Body);
                        return;
                    }

                    var original = http.Response.Body;
                    using var buffer = new MemoryStream();
                    http.Response.Body = buffer;
                    try
                    {
                        await Answer(http, next);
                    }
                    finally
                    {
                        http.Response.Body = original;
                    }

                    if (http.Response.StatusCode < 500)
                    {
                        _replies[idempotencyKey] = (http.Response.StatusCode, System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
                    }

                    buffer.Position = 0;
                    await buffer.CopyToAsync(original);
                    return;
                }
                finally
                {
                    gate.Release();
                }
            }

            await Answer(http, next);
        });
        MapRoutes(app);
    }

    private async Task Answer(HttpContext http, RequestDelegate next)
    {
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
    }

    private void MapRoutes(WebApplication app)
    {
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
        app.MapPost("/v1/customers/{id}/balance_transactions", (string id, HttpContext http) =>
        {
            // A customer balance transaction as Stripe returns one: the amount (negative is a credit) added to the
            // customer's balance, which the next invoice uses up.
            var form = Form(http);
            var t = Fixture("customer_balance_transaction");
            var amount = long.Parse(form["amount"], System.Globalization.CultureInfo.InvariantCulture);
            t["id"] = $"cbtxn_{Interlocked.Increment(ref _ids)}";
            t["customer"] = id;
            t["amount"] = amount;
            t["currency"] = form["currency"];
            t["description"] = form.GetValueOrDefault("description");
            t["metadata"] = Metadata(form, "metadata");
            t["ending_balance"] = Balances.AddOrUpdate(id, amount, (_, balance) => balance + amount);
            return Json(t);
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
        app.MapPost("/v1/billing_portal/configurations", () =>
        {
            var c = Fixture("billing_portal.configuration");
            c["id"] = $"bpc_{Interlocked.Increment(ref _ids)}";
            return Json(c);
        });
        app.MapPost("/v1/billing_portal/configurations/{id}", (string id) =>
        {
            var c = Fixture("billing_portal.configuration");
            c["id"] = id;
            return Json(c);
        });
        app.MapGet("/v1/subscriptions/{id}", (string id, HttpContext http) =>
            Subscriptions.TryGetValue(id, out var s) ? Json(Expanded(s, http)) : Missing(id));
        app.MapPost("/v1/subscriptions/{id}", (string id, HttpContext http) =>
        {
            if (!Subscriptions.TryGetValue(id, out var s))
            {
                return Missing(id);
            }

            var form = Form(http);
            if (s["schedule"] is JsonValue && form.ContainsKey("cancel_at_period_end"))
            {
                return Error(400, "invalid_request_error", null,
                    $"The subscription is managed by the subscription schedule `{s["schedule"]}`, and updating any cancelation behavior directly is not allowed. Please update the schedule instead.");
            }

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
                s["cancel_at"] = cancel == "true" ? s["items"]!["data"]![0]!["current_period_end"]!.DeepClone() : null;
            }

            return Json(Expanded(s, http));
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
        app.MapPost("/v1/subscription_schedules", (HttpContext http) =>
        {
            var from = Form(http)["from_subscription"];
            if (!Subscriptions.TryGetValue(from, out var s))
            {
                return Missing(from);
            }

            // As Stripe does: one phase, the current period on the current items.
            var item = s["items"]!["data"]![0]!;
            var schedule = Fixture("subscription_schedule");
            var id = $"sub_sched_{Interlocked.Increment(ref _ids)}";
            schedule["id"] = id;
            schedule["customer"] = s["customer"]!.DeepClone();
            schedule["subscription"] = from;
            schedule["status"] = "active";
            schedule["end_behavior"] = "release";
            schedule["released_subscription"] = null;
            schedule["released_at"] = null;
            schedule["canceled_at"] = null;
            schedule["completed_at"] = null;
            schedule["metadata"] = new JsonObject();
            schedule["current_phase"] = new JsonObject { ["start_date"] = item["current_period_start"]!.DeepClone(), ["end_date"] = item["current_period_end"]!.DeepClone() };
            schedule["phases"] = new JsonArray(Phase(item["price"]!["id"]!.GetValue<string>(), item["quantity"]!.GetValue<long>(),
                item["current_period_start"]!.GetValue<long>(), item["current_period_end"]!.GetValue<long>()));
            Schedules[id] = schedule;
            s["schedule"] = id;
            return Json(schedule);
        });
        app.MapGet("/v1/invoice_payments", (string? invoice, string? status) =>
        {
            var data = new JsonArray();
            if (invoice is not null && InvoicePayments.TryGetValue(invoice, out var paid) && status is null or "paid")
            {
                var p = Fixture("invoice_payment");
                p["id"] = $"inpay_{invoice}";
                p["invoice"] = invoice;
                p["amount_paid"] = paid.Amount;
                p["currency"] = "usd";
                p["status"] = "paid";
                p["payment"] = new JsonObject { ["type"] = "payment_intent", ["payment_intent"] = paid.PaymentIntent };
                data.Add(p);
            }

            return Json(new JsonObject { ["object"] = "list", ["data"] = data, ["has_more"] = false, ["url"] = "/v1/invoice_payments" });
        });
        app.MapPost("/v1/refunds", (HttpContext http) =>
        {
            // As Stripe does: the whole payment refunded unless an amount is given.
            var form = Form(http);
            var intent = form["payment_intent"];
            var paid = InvoicePayments.Values.Single(p => p.PaymentIntent == intent);
            var r = Fixture("refund");
            r["id"] = $"re_{Interlocked.Increment(ref _ids)}";
            r["payment_intent"] = intent;
            r["amount"] = form.TryGetValue("amount", out var amount) ? long.Parse(amount, System.Globalization.CultureInfo.InvariantCulture) : paid.Amount;
            r["currency"] = "usd";
            r["status"] = "succeeded";
            r["reason"] = form.GetValueOrDefault("reason");
            Refunds[r["id"]!.GetValue<string>()] = r;
            return Json(r);
        });
        app.MapGet("/v1/charges/{id}", (string id) => Charges.TryGetValue(id, out var charge) ? Json(charge) : Missing(id));
        app.MapGet("/v1/disputes/{id}", (string id) => Disputes.TryGetValue(id, out var dispute) ? Json(dispute) : Missing(id));
        app.MapGet("/v1/credit_notes/{id}", (string id) => CreditNotes.TryGetValue(id, out var note) ? Json(note) : Missing(id));
        app.MapGet("/v1/subscription_schedules/{id}", (string id) => Schedules.TryGetValue(id, out var schedule) ? Json(schedule) : Missing(id));
        app.MapPost("/v1/subscription_schedules/{id}", (string id, HttpContext http) =>
        {
            if (!Schedules.TryGetValue(id, out var schedule))
            {
                return Missing(id);
            }

            if (schedule["status"]!.GetValue<string>() != "active")
            {
                return Error(400, "invalid_request_error", null, $"You cannot update a subscription schedule that is currently in the `{schedule["status"]}` status.");
            }

            // Phases as the form lists them; a phase without an end date lasts its duration after the one before.
            var form = Form(http);
            var phases = new JsonArray();
            long previousEnd = 0;
            for (var i = 0; form.ContainsKey($"phases[{i}][items][0][price]"); i++)
            {
                var start = form.TryGetValue($"phases[{i}][start_date]", out var s) ? long.Parse(s, System.Globalization.CultureInfo.InvariantCulture) : previousEnd;
                var end = form.TryGetValue($"phases[{i}][end_date]", out var e)
                    ? long.Parse(e, System.Globalization.CultureInfo.InvariantCulture)
                    : DateTimeOffset.FromUnixTimeSeconds(start).AddMonths(int.Parse(form.GetValueOrDefault($"phases[{i}][duration][interval_count]", "1"), System.Globalization.CultureInfo.InvariantCulture)).ToUnixTimeSeconds();
                phases.Add(Phase(form[$"phases[{i}][items][0][price]"], long.Parse(form.GetValueOrDefault($"phases[{i}][items][0][quantity]", "1"), System.Globalization.CultureInfo.InvariantCulture), start, end));
                previousEnd = end;
            }

            schedule["phases"] = phases;
            schedule["end_behavior"] = form.GetValueOrDefault("end_behavior", schedule["end_behavior"]!.GetValue<string>());
            schedule["metadata"] = Metadata(form, "metadata");
            return Json(schedule);
        });
        app.MapPost("/v1/subscription_schedules/{id}/release", (string id) =>
        {
            if (!Schedules.TryGetValue(id, out var schedule))
            {
                return Missing(id);
            }

            if (schedule["status"]!.GetValue<string>() != "active")
            {
                return Error(400, "invalid_request_error", null, $"You cannot release a subscription schedule that is currently in the `{schedule["status"]}` status.");
            }

            // The subscription stays as it is now (its current price), no longer managed by the schedule.
            var subscriptionId = schedule["subscription"]!.GetValue<string>();
            schedule["status"] = "released";
            schedule["released_subscription"] = subscriptionId;
            schedule["released_at"] = Now().ToUnixTimeSeconds();
            schedule["subscription"] = null;
            Subscriptions[subscriptionId]["schedule"] = null;
            return Json(schedule);
        });
        app.MapGet("/v1/subscriptions", (HttpContext http) => Json(new JsonObject
        {
            ["object"] = "list",
            ["data"] = new JsonArray(Subscriptions.Values.Select(s => Expanded(s, http)).ToArray()),
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

    private static JsonObject Phase(string price, long quantity, long start, long end) => new()
    {
        ["start_date"] = start,
        ["end_date"] = end,
        ["currency"] = "usd",
        ["proration_behavior"] = "none",
        ["metadata"] = new JsonObject(),
        ["items"] = new JsonArray(new JsonObject { ["price"] = price, ["quantity"] = quantity, ["metadata"] = new JsonObject(), ["tax_rates"] = new JsonArray(), ["discounts"] = new JsonArray() }),
    };

    /// <summary>A copy of the subscription with its schedule expanded when the request asks (<c>expand[]=schedule</c>),
    /// as Stripe expands it; otherwise the schedule stays an id.</summary>
    private JsonNode Expanded(JsonObject subscription, HttpContext http)
    {
        var copy = (JsonObject)subscription.DeepClone();
        var wantsSchedule = http.Request.Query.Any(q => q.Key.StartsWith("expand", StringComparison.Ordinal) && q.Value.Any(v => v!.EndsWith("schedule", StringComparison.Ordinal)))
            || Form(http).Any(f => f.Key.StartsWith("expand", StringComparison.Ordinal) && f.Value.EndsWith("schedule", StringComparison.Ordinal));
        if (wantsSchedule && copy["schedule"] is JsonValue id && Schedules.TryGetValue(id.GetValue<string>(), out var schedule))
        {
            copy["schedule"] = schedule.DeepClone();
        }

        return copy;
    }

    private static IResult Error(int status, string type, string? code, string message) => Results.Text(
        new JsonObject { ["error"] = new JsonObject { ["type"] = type, ["code"] = code, ["message"] = message } }.ToJsonString(), "application/json", statusCode: status);

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
