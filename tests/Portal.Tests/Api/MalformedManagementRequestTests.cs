using Microsoft.AspNetCore.Hosting;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using CsCheck;
using Lanes.Billing.Keys;
using Lanes.Billing.Tenants;
using Lanes.Portal.Api.Auth;
using Lanes.Testing;
using Marten;

namespace Lanes.Portal.Tests.Api;

/// <summary>A portal whose token endpoint limit (60 per minute per address) does not stop a fuzz run; the limit has
/// its own test (RateLimitTests).</summary>
public sealed class PortalForManagementFuzz : PortalOnKestrel
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("RateLimits:TokensPerMinutePerAddress", "1000000");
    }
}

/// <summary>
/// Property: whatever a management client sends (bodies, query strings, path segments, token requests), the portal
/// answers below 500, refusals are ProblemDetails that say what is wrong with which field, it keeps serving, and a
/// refused write changes nothing. 1,000 generated requests per family.
/// </summary>
[Collection(PortalHosts.Name)]
public class MalformedManagementRequestTests(PortalForManagementFuzz portal) : IClassFixture<PortalForManagementFuzz>
{
    private const int Iterations = 1_000;

    /// <summary>ASP.NET's generic 400 ("Bad Request", pointing at RFC 9110): it says nothing about which field.</summary>
    private const string GenericBadRequest = "https://tools.ietf.org/html/rfc9110#section-15.5.1";

    private static readonly string Future = DateTimeOffset.UtcNow.AddDays(30).ToString("O");

    private static readonly string CreateBody = $$"""{"name":"fuzz","budget_usd":2.5,"window":"1h","expires_at":"{{Future}}","models":["scripted"]}""";
    private const string UpdateBody = """{"budget_usd":7}""";
    private const string RotateBody = """{"grace_seconds":60}""";

    [Fact]
    public async Task Malformed_key_writes_never_answer_5xx_and_change_nothing()
    {
        var tenant = await portal.TenantAsync();
        using var api = await portal.ApiAsync(tenant, [.. ManagementScopes.All]);
        var key = (await portal.Get<KeyService>().IssueAsync(tenant, new KeyRequest("target", 1m), "test")).Key;
        var writes = new (HttpMethod Method, string Path, string Valid)[]
        {
            (HttpMethod.Post, "/api/v1/keys", CreateBody),
            (HttpMethod.Patch, $"/api/v1/keys/{key.Id}", UpdateBody),
            (HttpMethod.Post, $"/api/v1/keys/{key.Id}/rotate", RotateBody),
        };
        var accepted = new int[writes.Length];
        var gen = Gen.OneOf([.. writes.Select((w, i) => MalformedJson.Of(w.Valid).Select(body => (Write: i, Body: body)))]);

        var sent = 0;
        await gen.SampleAsync(async sample =>
        {
            var (method, path, _) = writes[sample.Write];
            using var request = new HttpRequestMessage(method, path) { Content = sample.Body.ToContent() };
            using var response = await api.SendAsync(request);
            Interlocked.Increment(ref sent);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {text}");
            if (response.IsSuccessStatusCode)
            {
                Interlocked.Increment(ref accepted[sample.Write]);
                return;
            }

            AssertProblem(response, text, mustName: response.StatusCode == HttpStatusCode.BadRequest && sample.Body.IsJsonObject);
        }, iter: Iterations, print: s => $"{writes[s.Write].Method} {writes[s.Write].Path} {s.Body}");
        Assert.Equal(Iterations, sent);

        // Still serving, and exactly the accepted writes happened: one key per created, one event per change.
        using var healthy = await api.PostAsJsonAsync("/api/v1/keys", new { name = "after-fuzz" });
        Assert.Equal(HttpStatusCode.Created, healthy.StatusCode);
        Assert.Equal(1 + accepted[0] + 1, (await portal.Get<KeyService>().ListAsync(tenant)).Count);
        await using var query = portal.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant));
        Assert.Equal(1 + accepted[1] + accepted[2], (await query.Events.FetchStreamStateAsync(key.Id))!.Version);
    }

    private static readonly string[] QueryNames = ["from", "to", "granularity", "key_id", "model", "format", "limit", "cursor", "FROM", "x"];

    private static readonly string[] QueryValues =
    [
        "2026-01-01T00:00:00Z", "2026-01-08T00:00:00Z", "2025-06-01", "9999-12-31T23:00:00Z", "9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00Z", "0001-01-01T00:00:00%2B14:00", "2026-02-30T00:00:00Z", "2026-01-01T25:00:00Z", "not-a-date", "", "%00", "%ED%A0%80",
        "%FF", "%C0%80", "-1", "0", "1", "101", "2147483648", "1e400", "NaN", "00000000-0000-0000-0000-000000000000", Guid.NewGuid().ToString(),
        "hour", "day", "HOURLY", "minute", "csv", "json", "xml", "scripted", new string('m', 5_000), "b246", "bzoxMA%3D%3D", "bzotMQ%3D%3D",
        "bzo5OTk5OTk5OTk5", "%22%5Cud800%22", "a%0Ab", "true",
    ];

    private static readonly string[] ReadPaths =
    [
        "/api/v1/usage", "/api/v1/usage", "/api/v1/usage", "/api/v1/keys", "/api/v1/keys", "/api/v1/subscription", "/api/v1/lanes",
        "/api/v1/keys/{key}", "/api/v1/keys/not-a-guid", "/api/v1/keys/%ED%A0%80", "/api/v1/keys/00000000-0000-0000-0000-000000000000", "/api/v1/nothing",
    ];

    /// <summary>A read with up to four query parameters, each a name and a value from lists of edge cases (dates at
    /// and past the ends of DateTimeOffset, encodings of invalid UTF-8 and NUL, numbers past int, bad cursors).</summary>
    private static readonly Gen<string> Reads = Gen.Select(
        Gen.Int[0, ReadPaths.Length - 1],
        Gen.Select(Gen.Int[0, QueryNames.Length - 1], Gen.Int[0, QueryValues.Length - 1]).Array[0, 4],
        (path, query) => ReadPaths[path] + (query.Length == 0 ? "" : "?" + string.Join('&', query.Select(q => $"{QueryNames[q.Item1]}={QueryValues[q.Item2]}"))));

    [Fact]
    public async Task Malformed_reads_and_query_strings_never_answer_5xx()
    {
        var tenant = await portal.TenantAsync();
        using var api = await portal.ApiAsync(tenant, [.. ManagementScopes.All]);
        var key = (await portal.Get<KeyService>().IssueAsync(tenant, new KeyRequest("target", 1m), "test")).Key;

        var sent = 0;
        await Reads.SampleAsync(async read =>
        {
            using var response = await api.GetAsync(read.Replace("{key}", key.Id.ToString(), StringComparison.Ordinal));
            Interlocked.Increment(ref sent);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {text}");
            if (response.StatusCode == HttpStatusCode.RequestUriTooLong)
            {
                // Kestrel refuses a request line over its limit (8 KiB) before the app sees it, so without a body.
                return;
            }

            if (!response.IsSuccessStatusCode)
            {
                AssertProblem(response, text, mustName: response.StatusCode == HttpStatusCode.BadRequest);
            }
        }, iter: Iterations);
        Assert.Equal(Iterations, sent);

        Assert.Equal(HttpStatusCode.OK, (await api.GetAsync("/api/v1/usage?granularity=hour")).StatusCode);
    }

    private static readonly string[] FormNames = ["grant_type", "client_id", "client_secret", "scope", "x"];

    /// <summary>Form values as sent on the wire (already URL-encoded): invalid UTF-8, NUL, long, unknown scopes.</summary>
    private static readonly string[] FormValues =
    [
        "client_credentials", "password", "", "{client}", "{secret}", "keys%3Aread", "keys%3Aread+keys%3Awrite", "nope", "%ED%A0%80", "%00", "%FF",
        new string('s', 5_000), "a+b", "%F0%9F%99%82", "%", "%%", "a=b",
    ];

    [Fact]
    public async Task Malformed_token_requests_never_answer_5xx()
    {
        var client = await portal.ClientAsync(await portal.TenantAsync(), [.. ManagementScopes.All]);
        using var http = portal.Http();
        var forms = Gen.Select(Gen.Int[0, FormNames.Length - 1], Gen.Int[0, FormValues.Length - 1]).Array[0, 5].Select(fields =>
            string.Join('&', fields.Select(f => $"{FormNames[f.Item1]}={FormValues[f.Item2].Replace("{client}", Uri.EscapeDataString(client.Client.ClientId)).Replace("{secret}", Uri.EscapeDataString(client.Secret))}")));
        var bodies = Gen.Frequency(
            (3, forms.Select(form => new MalformedBody("form", Encoding.UTF8.GetBytes(form), "application/x-www-form-urlencoded"))),
            (1, MalformedJson.Of($$"""{"grant_type":"client_credentials","client_id":"{{client.Client.ClientId}}","client_secret":"{{client.Secret}}"}""")));

        var sent = 0;
        await bodies.SampleAsync(async body =>
        {
            using var response = await http.PostAsync("/connect/token", body.ToContent());
            Interlocked.Increment(ref sent);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {text}");
            if (!response.IsSuccessStatusCode)
            {
                // RFC 6749's error shape, not ProblemDetails: OAuth clients read "error".
                using var error = JsonDocument.Parse(text);
                Assert.Equal(JsonValueKind.String, error.RootElement.GetProperty("error").ValueKind);
            }
        }, iter: Iterations);
        Assert.Equal(Iterations, sent);

        Assert.Equal(HttpStatusCode.OK, (await portal.RequestTokenAsync(client.Client.ClientId, client.Secret)).StatusCode);
    }

    /// <summary>Inputs the fuzzing (or issue 15) found answering 500, or a 400 that named nothing: each now a 400 that
    /// says what is wrong where (<paramref name="names"/>: the <c>errors</c> key or the problem <c>type</c>).</summary>
    [Theory]
    [InlineData("GET", "/api/v1/usage?to=9999-12-31T23:00:00Z", null, "invalid_range")]
    [InlineData("GET", "/api/v1/usage?granularity=hour&to=9999-12-31T23:30:00Z&from=9999-12-31T00:00:00Z", null, "invalid_range")]
    [InlineData("GET", "/api/v1/usage?from=tomorrow", null, "from")]
    [InlineData("GET", "/api/v1/usage?to=0001-01-01T00:00:00%2B01:00", null, "to")]
    [InlineData("GET", "/api/v1/usage?model=%00", null, "model")]
    [InlineData("GET", "/api/v1/keys?limit=2147483648", null, "limit")]
    [InlineData("POST", "/api/v1/keys", """{"name":"\u0000"}""", "invalid_name")]
    [InlineData("POST", "/api/v1/keys", """{"name":"x","models":[null]}""", "unknown_model")]
    [InlineData("POST", "/api/v1/keys", """{"name":"x","budget_usd":"seven"}""", "budget_usd")]
    [InlineData("POST", "/api/v1/keys", """{"name":"\ud800"}""", "name")]
    [InlineData("POST", "/api/v1/keys", """{"name":"x","models":["a",1e400]}""", "models[1]")]
    public async Task Inputs_that_once_answered_500_or_named_nothing_are_400s_naming_the_field(string method, string path, string? body, string names)
    {
        var tenant = await portal.TenantAsync();
        using var api = await portal.ApiAsync(tenant, [.. ManagementScopes.All]);
        using var request = new HttpRequestMessage(new HttpMethod(method), path);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "application/json");
        }

        using var response = await api.SendAsync(request);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(problem.RootElement.TryGetProperty("errors", out var errors) ? errors.TryGetProperty(names, out _) : problem.RootElement.GetProperty("type").GetString() == names,
            problem.RootElement.ToString());
        Assert.Empty(await portal.Get<KeyService>().ListAsync(tenant));
    }

    [Fact]
    public async Task A_token_request_whose_form_cannot_be_decoded_is_an_oauth_invalid_request()
    {
        using var http = portal.Http();

        using var response = await http.PostAsync("/connect/token", new StringContent("grant_type=client_credentials&client_id=%00", Encoding.UTF8, "application/x-www-form-urlencoded"));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("invalid_request", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("error").GetString());
    }

    /// <summary>A ProblemDetails body with the response's status; where a field is to blame (<paramref name="mustName"/>),
    /// either its <c>errors</c> name the field or its <c>type</c> is the specific rule broken, never the generic 400.</summary>
    private static void AssertProblem(HttpResponseMessage response, string text, bool mustName)
    {
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(text);
        var root = problem.RootElement;
        Assert.Equal((int)response.StatusCode, root.GetProperty("status").GetInt32());
        Assert.Equal(JsonValueKind.String, root.GetProperty("title").ValueKind);
        if (mustName)
        {
            var named = root.TryGetProperty("errors", out var errors) ? errors.EnumerateObject().Any()
                : root.TryGetProperty("type", out var type) && type.GetString() is { Length: > 0 } t && t != GenericBadRequest;
            Assert.True(named, $"no field named: {text}");
        }
    }
}
