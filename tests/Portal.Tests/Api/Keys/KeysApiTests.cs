using Microsoft.Extensions.DependencyInjection;
using Microsoft.EntityFrameworkCore;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Lanes.Billing.Keys;
using Lanes.Portal.Api.Auth;

namespace Lanes.Portal.Tests.Api.Keys;

/// <summary>/api/v1/keys over real HTTP: the key lifecycle, tenant isolation, paging and Idempotency-Key.</summary>
[Collection(PortalHosts.Name)]
public class KeysApiTests(PortalOnKestrel portal) : IClassFixture<PortalOnKestrel>
{
    [Fact]
    public async Task A_key_is_created_read_rebudgeted_rotated_and_revoked()
    {
        var tenant = await portal.TenantAsync();
        using var api = await portal.ApiAsync(tenant, ManagementScopes.KeysRead, ManagementScopes.KeysWrite);

        using var created = await api.PostAsJsonAsync("/api/v1/keys", new { name = "ci-run-42", budget_usd = 2.5m, window = "1h", models = new[] { "scripted" } });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var body = await created.Content.ReadFromJsonAsync<JsonElement>();
        var key = body.GetProperty("key");
        var id = key.GetProperty("id").GetGuid();
        Assert.Equal($"/api/v1/keys/{id}", created.Headers.Location?.OriginalString);
        Assert.StartsWith(key.GetProperty("prefix").GetString()!, body.GetProperty("secret").GetString()!);
        Assert.Equal(("ci-run-42", 2.5m, "1h", 3600L, "active"), (key.GetProperty("name").GetString(), key.GetProperty("budget_usd").GetDecimal(),
            key.GetProperty("window").GetString(), key.GetProperty("window_seconds").GetInt64(), key.GetProperty("state").GetString()));

        var read = await api.GetFromJsonAsync<JsonElement>($"/api/v1/keys/{id}");
        Assert.False(read.TryGetProperty("secret", out _));
        Assert.Equal($"client:", read.GetProperty("created_by").GetString()![..7]);

        using var patched = await api.PatchAsJsonAsync($"/api/v1/keys/{id}", new { budget_usd = 7m });
        Assert.Equal(7m, (await patched.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("budget_usd").GetDecimal());

        using var rotated = await api.PostAsJsonAsync($"/api/v1/keys/{id}/rotate", new { grace_seconds = 60 });
        var rotation = await rotated.Content.ReadFromJsonAsync<JsonElement>();
        Assert.NotEqual(body.GetProperty("secret").GetString(), rotation.GetProperty("secret").GetString());
        Assert.Equal(JsonValueKind.String, rotation.GetProperty("key").GetProperty("previous_secret_valid_until").ValueKind);

        using var revoked = await api.PostAsync($"/api/v1/keys/{id}/revoke", null);
        Assert.Equal("revoked", (await revoked.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("state").GetString());

        using var twice = await api.PostAsync($"/api/v1/keys/{id}/revoke", null);
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        Assert.Equal("key_revoked", (await twice.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
    }

    [Fact]
    public async Task Invalid_requests_are_problem_details()
    {
        using var api = await portal.ApiAsync(await portal.TenantAsync(), ManagementScopes.KeysWrite);

        using var badWindow = await api.PostAsJsonAsync("/api/v1/keys", new { name = "x", window = "forever" });
        Assert.Equal(HttpStatusCode.BadRequest, badWindow.StatusCode);
        Assert.Equal("invalid_window", (await badWindow.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());

        using var badBudget = await api.PostAsJsonAsync("/api/v1/keys", new { name = "x", budget_usd = -1 });
        Assert.Equal("invalid_budget", (await badBudget.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());

        using var malformed = await api.PostAsync("/api/v1/keys", new StringContent("{ not json", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, malformed.StatusCode);
        Assert.Equal("application/problem+json", malformed.Content.Headers.ContentType?.MediaType);

        using var missing = await api.PatchAsJsonAsync($"/api/v1/keys/{Guid.NewGuid()}", new { budget_usd = 1 });
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Equal("application/problem+json", missing.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_client_of_one_tenant_gets_404_for_another_tenants_keys()
    {
        var a = await portal.TenantAsync();
        var keyOfA = await portal.Get<KeyService>().IssueAsync(a, new KeyRequest("a-key"), "test");
        using var b = await portal.ApiAsync(await portal.TenantAsync(), [.. ManagementScopes.All]);
        var path = $"/api/v1/keys/{keyOfA.Key.Id}";

        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync(path)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PatchAsJsonAsync(path, new { budget_usd = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsync($"{path}/rotate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.PostAsync($"{path}/revoke", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await b.GetAsync($"/api/v1/usage?key_id={keyOfA.Key.Id}")).StatusCode);
        Assert.Empty((await b.GetFromJsonAsync<JsonElement>("/api/v1/keys")).GetProperty("data").EnumerateArray());

        var untouched = await portal.Get<KeyService>().FindAsync(a, keyOfA.Key.Id);
        Assert.Equal((KeyState.Active, keyOfA.Key.BudgetUsd, keyOfA.Key.Prefix), (untouched!.State, untouched.BudgetUsd, untouched.Prefix));
    }

    [Fact]
    public async Task Lists_are_paginated_newest_first()
    {
        var tenant = await portal.TenantAsync();
        for (var i = 0; i < 5; i++)
        {
            await portal.Get<KeyService>().IssueAsync(tenant, new KeyRequest($"k{i}"), "test");
        }

        using var api = await portal.ApiAsync(tenant, ManagementScopes.KeysRead);
        var names = new List<string>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await api.GetFromJsonAsync<JsonElement>($"/api/v1/keys?limit=2{(cursor is null ? "" : $"&cursor={Uri.EscapeDataString(cursor)}")}");
            names.AddRange(page.GetProperty("data").EnumerateArray().Select(k => k.GetProperty("name").GetString()!));
            cursor = page.GetProperty("has_more").GetBoolean() ? page.GetProperty("next_cursor").GetString() : null;
            pages++;
        }
        while (cursor is not null);

        Assert.Equal(3, pages);
        Assert.Equal(["k4", "k3", "k2", "k1", "k0"], names);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/keys?limit=1000")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await api.GetAsync("/api/v1/keys?cursor=nonsense")).StatusCode);
    }

    [Fact]
    public async Task Creating_a_key_twice_with_one_idempotency_key_creates_one_key()
    {
        var tenant = await portal.TenantAsync();
        using var api = await portal.ApiAsync(tenant, ManagementScopes.KeysWrite);
        var idempotencyKey = Guid.NewGuid().ToString();

        using var first = await api.SendAsync(Create(idempotencyKey, "nightly"));
        using var second = await api.SendAsync(Create(idempotencyKey, "nightly"));

        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        Assert.Equal(HttpStatusCode.Created, second.StatusCode);
        Assert.Equal(await first.Content.ReadAsStringAsync(), await second.Content.ReadAsStringAsync());
        Assert.Equal(first.Headers.Location, second.Headers.Location);
        Assert.True(second.Headers.Contains("Idempotent-Replayed"));
        Assert.Single(await portal.Get<KeyService>().ListAsync(tenant), k => k.Name == "nightly");

        // The replayable response holds the new key's secret: the database keeps it sealed, under a hash of the
        // Idempotency-Key, never in the clear.
        var secret = (await first.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("secret").GetString()!;
        using (var scope = portal.Services.CreateScope())
        {
            var stored = await scope.ServiceProvider.GetRequiredService<Lanes.Portal.Identity.IdentityStore>().IdempotencyRecords
                .Where(r => r.TenantId == tenant).ToListAsync();
            var record = Assert.Single(stored);
            Assert.NotEqual(idempotencyKey, record.Key);
            Assert.DoesNotContain(secret, System.Text.Encoding.UTF8.GetString(record.Body!));
        }

        using var different = await api.SendAsync(Create(idempotencyKey, "another"));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, different.StatusCode);
        Assert.Equal("idempotency_key_reused", (await different.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("type").GetString());
        Assert.DoesNotContain(await portal.Get<KeyService>().ListAsync(tenant), k => k.Name == "another");
    }

    [Fact]
    public async Task Concurrent_requests_with_one_idempotency_key_create_one_key()
    {
        var tenant = await portal.TenantAsync();
        using var api = await portal.ApiAsync(tenant, ManagementScopes.KeysWrite);
        var idempotencyKey = Guid.NewGuid().ToString();

        var responses = await Task.WhenAll(Enumerable.Range(0, 6).Select(_ => api.SendAsync(Create(idempotencyKey, "parallel"))));

        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.Created, HttpStatusCode.Conflict }));
        var bodies = await Task.WhenAll(responses.Where(r => r.StatusCode == HttpStatusCode.Created).Select(r => r.Content.ReadAsStringAsync()));
        Assert.Single(bodies.Distinct());
        Assert.Single(await portal.Get<KeyService>().ListAsync(tenant), k => k.Name == "parallel");
        foreach (var response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task An_idempotency_key_belongs_to_its_tenant()
    {
        var idempotencyKey = Guid.NewGuid().ToString();
        using var a = await portal.ApiAsync(await portal.TenantAsync(), ManagementScopes.KeysWrite);
        using var b = await portal.ApiAsync(await portal.TenantAsync(), ManagementScopes.KeysWrite);

        using var ofA = await a.SendAsync(Create(idempotencyKey, "same"));
        using var ofB = await b.SendAsync(Create(idempotencyKey, "same"));

        Assert.Equal(HttpStatusCode.Created, ofB.StatusCode);
        Assert.False(ofB.Headers.Contains("Idempotent-Replayed"));
        Assert.NotEqual(ofA.Headers.Location, ofB.Headers.Location);
    }

    private static HttpRequestMessage Create(string idempotencyKey, string name)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/keys") { Content = JsonContent.Create(new { name, budget_usd = 1m }) };
        request.Headers.Add("Idempotency-Key", idempotencyKey);
        return request;
    }
}
