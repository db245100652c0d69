using System.Net;
using System.Text;
using System.Text.Json;
using CsCheck;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Marten;
using global::Stripe;
using SubscriptionService = Lanes.Billing.Subscriptions.SubscriptionService;

namespace Lanes.Billing.Tests.Payments;

/// <summary>
/// Property: whatever arrives at <c>/stripe/webhook</c>, signed or not, it answers below 500 (a 5xx makes Stripe retry,
/// so it is kept for the database being away), every refusal is a 400, and only accepted events are recorded.
/// 1,000 one-mutation variants of real event payloads, most signed with the endpoint's secret after mutating.
/// </summary>
[Collection(HangfireServers.Name)]
public class MalformedWebhookTests(BillingWithStripe billing) : IClassFixture<BillingWithStripe>
{
    private const int Iterations = 1_000;

    /// <summary>Replaced in every sample by a fresh id, so each accepted delivery is a new event.</summary>
    private const string IdMark = "evt_FUZZ";

    private enum Signing
    {
        Signed,
        Unsigned,
        WrongSecret,
        Stale,
        Garbled,
    }

    [Fact]
    public async Task Malformed_webhooks_never_answer_5xx_and_record_nothing()
    {
        var tenant = await billing.Get<TenantService>().CreateAsync($"w-{Guid.NewGuid():N}"[..20], "Webhook fuzz", "test", ("user-1", "owner@test.local"));
        var now = billing.Clock.GetUtcNow();
        var sub = billing.Stripe.PutSubscription("sub_fuzz", "cus_fuzz", tenant.Id, "active", "price_pro", now.AddDays(-1), now.AddDays(29));
        Assert.Equal(HttpStatusCode.OK, (await billing.DeliverAsync(billing.Event(EventTypes.CustomerSubscriptionCreated, sub))).StatusCode);
        await Eventually.Get(() => billing.Get<SubscriptionService>().FindAsync(tenant.Id), s => s is { IsLive: true }, TimeSpan.FromSeconds(30), "the subscription to start");
        var (receiptsBefore, versionBefore) = (await ReceiptsAsync(), await SubscriptionVersionAsync(tenant.Id));

        var updated = billing.Event(EventTypes.CustomerSubscriptionUpdated, sub, IdMark);
        var unknown = billing.Event("lanes.fuzz.unknown", new System.Text.Json.Nodes.JsonObject { ["id"] = "cus_fuzz", ["object"] = "customer" }, IdMark);
        var signing = Gen.Frequency((14, Gen.Const(Signing.Signed)), (2, Gen.Const(Signing.Unsigned)), (2, Gen.Const(Signing.WrongSecret)), (1, Gen.Const(Signing.Stale)), (1, Gen.Const(Signing.Garbled)));
        var samples = Gen.Select(Gen.OneOf(MalformedJson.Of(updated), MalformedJson.Of(unknown)), signing);
        var recorded = 0;

        var sent = 0;
        await samples.SampleAsync(async (body, sign) =>
        {
            var bytes = Replace(body.Bytes, IdMark, $"evt_{Guid.NewGuid():N}");
            using var response = await DeliverAsync(bytes, body.ContentType, sign);
            Interlocked.Increment(ref sent);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {text}");
            if (response.StatusCode == HttpStatusCode.OK)
            {
                Assert.Equal(Signing.Signed, sign);
                if (!text.Contains("duplicate", StringComparison.Ordinal))
                {
                    Interlocked.Increment(ref recorded);
                }

                return;
            }

            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Equal(JsonValueKind.String, JsonDocument.Parse(text).RootElement.GetProperty("error").ValueKind);
        }, iter: Iterations);
        Assert.Equal(Iterations, sent);

        // Still taking events, and exactly the accepted ones were recorded; the subscription is as Stripe has it.
        Assert.Equal(HttpStatusCode.OK, (await billing.DeliverAsync(billing.Event("lanes.fuzz.after", new System.Text.Json.Nodes.JsonObject { ["id"] = "x", ["object"] = "customer" }))).StatusCode);
        Assert.Equal(receiptsBefore + recorded + 1, await ReceiptsAsync());
        Assert.Equal(versionBefore, await SubscriptionVersionAsync(tenant.Id));
    }

    private async Task<long> SubscriptionVersionAsync(Guid tenantId)
    {
        await using var events = billing.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenantId));
        return (await events.Events.FetchStreamStateAsync(SubscriptionStreams.For(tenantId)))!.Version;
    }

    /// <summary>Deliveries the fuzzing found answering 500, which Stripe would have retried for days.</summary>
    [Theory]
    [InlineData("no signature header")]
    [InlineData("a number where Stripe has a string")]
    [InlineData("a key given twice")]
    [InlineData("a lone surrogate")]
    [InlineData("a NUL in the event id")]
    public async Task Deliveries_that_once_answered_500_are_400s_and_record_nothing(string fault)
    {
        var id = $"evt_{Guid.NewGuid():N}";
        var payload = billing.Event("lanes.fuzz.unknown", new System.Text.Json.Nodes.JsonObject { ["id"] = "cus_x", ["object"] = "customer" }, id);
        var before = await ReceiptsAsync();

        using var response = fault switch
        {
            "no signature header" => await DeliverAsync(Encoding.UTF8.GetBytes(payload), "application/json", Signing.Unsigned),
            "a number where Stripe has a string" => await billing.DeliverAsync(payload.Replace("\"object\":\"event\"", "\"object\":1.5", StringComparison.Ordinal)),
            "a key given twice" => await billing.DeliverAsync(payload.Replace("\"livemode\":false", "\"livemode\":false,\"livemode\":true", StringComparison.Ordinal)),
            "a lone surrogate" => await billing.DeliverAsync(payload.Replace("\"cus_x\"", "\"\\ud800\"", StringComparison.Ordinal)),
            _ => await billing.DeliverAsync(payload.Replace(id, "evt_\\u0000", StringComparison.Ordinal)),
        };

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(before, await ReceiptsAsync());
    }

    private async Task<int> ReceiptsAsync()
    {
        await using var query = billing.Get<IDocumentStore>().QuerySession();
        return await query.Query<StripeEventReceipt>().CountAsync();
    }

    /// <summary>Signs the text the server will read (bad UTF-8 becomes U+FFFD there too), as Stripe signs a payload.</summary>
    private Task<HttpResponseMessage> DeliverAsync(byte[] bytes, string? contentType, Signing sign)
    {
        var text = Encoding.UTF8.GetString(bytes);
        var now = billing.Clock.GetUtcNow();
        var request = new HttpRequestMessage(HttpMethod.Post, "/stripe/webhook") { Content = new MalformedBody("", bytes, contentType).ToContent() };
        var header = sign switch
        {
            Signing.Signed => EventUtility.GenerateSignatureHeader(text, BillingWithStripe.WebhookSecret, now.ToUnixTimeSeconds()),
            Signing.WrongSecret => EventUtility.GenerateSignatureHeader(text, "whsec_someone_else", now.ToUnixTimeSeconds()),
            Signing.Stale => EventUtility.GenerateSignatureHeader(text, BillingWithStripe.WebhookSecret, now.AddHours(-1).ToUnixTimeSeconds()),
            Signing.Garbled => "t=99999999999999999999,v1=zz,v0=,=",
            _ => null,
        };
        if (header is not null)
        {
            request.Headers.TryAddWithoutValidation("Stripe-Signature", header);
        }

        return billing.Http.SendAsync(request);
    }

    private static byte[] Replace(byte[] bytes, string mark, string with)
    {
        var at = bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(mark));
        return at < 0 ? bytes : [.. bytes[..at], .. Encoding.UTF8.GetBytes(with), .. bytes[(at + mark.Length)..]];
    }
}
