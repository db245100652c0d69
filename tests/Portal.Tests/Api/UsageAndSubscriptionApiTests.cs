using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Billing.Keys;
using Lanes.Billing.Usage;
using Lanes.Portal.Api.Auth;
using Lanes.Testing;

namespace Lanes.Portal.Tests.Api;

/// <summary>/api/v1/usage (JSON and CSV), /api/v1/subscription and /api/v1/lanes over real HTTP.</summary>
[Collection(PortalHosts.Name)]
public class UsageAndSubscriptionApiTests(PortalOnKestrel portal) : IClassFixture<PortalOnKestrel>
{
    [Fact]
    public async Task Usage_is_a_time_series_per_key_and_model_in_json_and_csv()
    {
        var tenant = await portal.TenantAsync();
        var key = (await portal.Get<KeyService>().IssueAsync(tenant, new KeyRequest("metered"), "test")).Key;
        var other = (await portal.Get<KeyService>().IssueAsync(tenant, new KeyRequest("other"), "test")).Key;
        var hour = new DateTimeOffset(DateTime.UtcNow.Year, DateTime.UtcNow.Month, DateTime.UtcNow.Day, DateTime.UtcNow.Hour, 0, 0, TimeSpan.Zero);
        await portal.Get<UsageRecorder>().RecordAsync(new UsageBatch(Guid.NewGuid(), "test",
        [
            new UsageLine(tenant, key.Id, "scripted", key.WindowStart, hour, 3, 30, 60, 0.5m, 0),
            new UsageLine(tenant, key.Id, "other-model", key.WindowStart, hour, 1, 10, 20, 0.25m, 0),
            new UsageLine(tenant, other.Id, "scripted", other.WindowStart, hour, 5, 50, 100, 1m, 0),
        ]));
        using var api = await portal.ApiAsync(tenant, ManagementScopes.UsageRead);
        var range = $"from={Uri.EscapeDataString(hour.AddHours(-2).ToString("O"))}&to={Uri.EscapeDataString(hour.ToString("O"))}";

        var all = await Eventually.Get(() => api.GetFromJsonAsync<JsonElement>($"/api/v1/usage?granularity=hour&{range}"),
            u => u.GetProperty("requests").GetInt64() == 9, what: "the hourly roll-up");
        Assert.Equal(3, all.GetProperty("points").GetArrayLength());
        Assert.Equal(2, all.GetProperty("models").GetArrayLength());

        var oneKeyOneModel = await api.GetFromJsonAsync<JsonElement>($"/api/v1/usage?granularity=hour&{range}&key_id={key.Id}&model=scripted");
        Assert.Equal((3L, 0.5m), (oneKeyOneModel.GetProperty("requests").GetInt64(), oneKeyOneModel.GetProperty("spend_usd").GetDecimal()));
        Assert.Equal(3, oneKeyOneModel.GetProperty("points")[2].GetProperty("requests").GetInt64());

        var daily = await api.GetFromJsonAsync<JsonElement>($"/api/v1/usage?granularity=day&key_id={key.Id}");
        Assert.Equal(("day", 4L), (daily.GetProperty("granularity").GetString(), daily.GetProperty("requests").GetInt64()));

        using var csv = await api.GetAsync($"/api/v1/usage?granularity=hour&{range}&key_id={key.Id}&format=csv");
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync()).TrimEnd('\n').Split('\n');
        Assert.StartsWith("start_utc,requests,", lines[0]);
        Assert.Equal(4, lines.Length);
        Assert.StartsWith($"{hour.UtcDateTime:yyyy-MM-ddTHH:mm:ssZ},4,", lines[3]);

        using var accept = new HttpRequestMessage(HttpMethod.Get, $"/api/v1/usage?{range}");
        accept.Headers.Accept.ParseAdd("text/csv");
        Assert.Equal("text/csv", (await api.SendAsync(accept)).Content.Headers.ContentType?.MediaType);

        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/usage?granularity=minute")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync($"/api/v1/usage?granularity=hour&from=2020-01-01T00:00:00Z&to=2021-01-01T00:00:00Z")).StatusCode);
    }

    [Fact]
    public async Task The_subscription_and_lanes_are_readable()
    {
        var tenant = await portal.TenantAsync("pro");
        using var api = await portal.ApiAsync(tenant, ManagementScopes.BillingRead);

        var subscription = await api.GetFromJsonAsync<JsonElement>("/api/v1/subscription");
        var lanes = await api.GetFromJsonAsync<JsonElement>("/api/v1/lanes");

        Assert.Equal("pro", subscription.GetProperty("plan").GetString());
        Assert.Equal("active", subscription.GetProperty("status").GetString());
        Assert.True(subscription.GetProperty("reserved_lanes").GetInt32() > 0);
        Assert.Equal(subscription.GetProperty("reserved_lanes").GetInt32(), lanes.GetProperty("reserved_lanes").GetInt32());
        Assert.Equal(JsonValueKind.Null, lanes.GetProperty("override").ValueKind);
    }

    [Fact]
    public async Task The_billing_details_are_readable_with_the_billing_read_scope_only()
    {
        var tenant = await portal.TenantAsync("pro");
        await portal.Get<Lanes.Billing.BillingDetails.BillingContactService>().UpdateAsync(tenant,
            new Lanes.Billing.BillingDetails.BillingDetailsCommand("billing@acme.test", "Acme GmbH", new("Main St 1", null, "Springfield", "12345", "IL", "us")), "test");
        using var billingRead = await portal.ApiAsync(tenant, ManagementScopes.BillingRead);
        using var keysRead = await portal.ApiAsync(tenant, ManagementScopes.KeysRead);

        var details = await billingRead.GetFromJsonAsync<JsonElement>("/api/v1/billing-details");

        Assert.Equal(("billing@acme.test", "Acme GmbH"), (details.GetProperty("email").GetString(), details.GetProperty("name").GetString()));
        Assert.Equal(("IL", "US"), (details.GetProperty("address").GetProperty("state").GetString(), details.GetProperty("address").GetProperty("country").GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, (await keysRead.GetAsync("/api/v1/billing-details")).StatusCode);
    }

    [Fact]
    public async Task Refunds_credit_notes_and_disputes_are_listed_with_amounts_in_the_currencys_units_for_the_billing_read_scope_only()
    {
        var tenant = await portal.TenantAsync("pro");
        await using (var session = portal.Get<Marten.IDocumentStore>().LightweightSession(Lanes.Billing.Tenants.Tenant.MartenTenantOf(tenant)))
        {
            session.Store(new Lanes.Billing.Payments.BillingDocument("cn_api_1", Lanes.Billing.Payments.BillingDocumentKind.CreditNote, "ACME-CN-01",
                DateTimeOffset.UtcNow, 1690, "jpy", "issued", "https://example.test/cn.pdf", "order_change", null));
            await session.SaveChangesAsync();
        }

        using var billingRead = await portal.ApiAsync(tenant, ManagementScopes.BillingRead);
        using var keysRead = await portal.ApiAsync(tenant, ManagementScopes.KeysRead);
        var other = await portal.TenantAsync("pro");
        using var otherRead = await portal.ApiAsync(other, ManagementScopes.BillingRead);

        var document = Assert.Single((await billingRead.GetFromJsonAsync<JsonElement>("/api/v1/billing-documents")).EnumerateArray());
        Assert.Equal(("credit_note", "ACME-CN-01", 1690L, "JPY 1,690"), (document.GetProperty("kind").GetString(), document.GetProperty("number").GetString(),
            document.GetProperty("amount").GetProperty("minor_units").GetInt64(), document.GetProperty("amount").GetProperty("display").GetString()));
        Assert.Equal(0, (await otherRead.GetFromJsonAsync<JsonElement>("/api/v1/billing-documents")).GetArrayLength());
        Assert.Equal(0, (await billingRead.GetFromJsonAsync<JsonElement>("/api/v1/invoices")).GetArrayLength()); // internal mode: staff invoice
        Assert.Equal(HttpStatusCode.Forbidden, (await keysRead.GetAsync("/api/v1/billing-documents")).StatusCode);
    }

    [Fact]
    public async Task A_tenant_without_a_subscription_gets_404()
    {
        var tenant = await portal.Get<Lanes.Billing.Tenants.TenantService>().CreateAsync($"t-{Guid.NewGuid():N}"[..20], "No plan", "test");
        using var api = await portal.ApiAsync(tenant.Id, ManagementScopes.BillingRead);
        using var response = await api.GetAsync("/api/v1/subscription");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
    }
}
