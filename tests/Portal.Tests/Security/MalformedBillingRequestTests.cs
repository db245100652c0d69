using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using CsCheck;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;
using Lanes.Testing;
using Marten;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Security;

/// <summary>A portal whose billing API limit does not stop a fuzz run (the limit has its own test).</summary>
public sealed class PortalForBillingFuzz : SecuredPortal
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("RateLimits:BillingCallsPerMinutePerUser", "1000000");
    }
}

[Collection(PortalHosts.Name)]
public class MalformedBillingRequestTests(PortalForBillingFuzz portal) : IClassFixture<PortalForBillingFuzz>
{
    private const int Iterations = 1_000;

    private static readonly string Command = $$"""{"commandId":"{{Guid.NewGuid()}}"}""";

    private static readonly (HttpMethod Method, string Path, string Valid)[] Writes =
    [
        (HttpMethod.Post, "/billing/api/checkout", $$"""{"plan":"pro","commandId":"{{Guid.NewGuid()}}"}"""),
        (HttpMethod.Post, "/billing/api/change-plan", $$"""{"plan":"team","commandId":"{{Guid.NewGuid()}}"}"""),
        (HttpMethod.Post, "/billing/api/cancel", Command),
        (HttpMethod.Post, "/billing/api/resume", Command),
        (HttpMethod.Post, "/billing/api/keep-plan", Command),
        (HttpMethod.Post, "/billing/api/portal", Command),
        (HttpMethod.Post, "/billing/api/trial", "{}"),
        (HttpMethod.Put, "/billing/api/billing-details", $$"""{"email":"billing@acme.test","name":"Acme","address":{"line1":"Main St 1","city":"Berlin","postal_code":"10117","country":"DE"},"command_id":"{{Guid.NewGuid()}}"}"""),
    ];

    private static readonly string[] Queries =
        ["/billing/api/preview?plan=team", "/billing/api/preview", "/billing/api/preview?plan=%00", "/billing/api/preview?plan=%ED%A0%80",
         "/billing/api/preview?plan=" + new string('x', 5000), "/billing/api/subscription", "/billing/api/subscription?x=%FF", "/billing/api/billing-details"];

    [Fact]
    public async Task Malformed_billing_requests_never_answer_5xx_and_change_nothing_when_refused()
    {
        var (owner, email) = await portal.ConfirmedOwnerAsync();
        var antiforgery = await owner.GetFromJsonAsync<JsonElement>("/billing/api/antiforgery");
        owner.DefaultRequestHeaders.Add(antiforgery.GetProperty("header_name").GetString()!, antiforgery.GetProperty("token").GetString());
        var tenant = await TenantOfAsync(email);
        var before = await VersionAsync(tenant);

        var writes = Gen.OneOf([.. Writes.Select((w, i) => MalformedJson.Of(w.Valid).Select(body => (Write: i, Body: body, Query: -1)))]);
        var reads = Gen.Select(Gen.Int[0, Queries.Length - 1], Gen.String[0, 40]).Select(r => (Write: -1, Body: (MalformedBody?)null, Query: r.Item1, Tenant: r.Item2));
        var accepted = new int[Writes.Length];
        var sent = 0;
        await Gen.Frequency((9, writes.Select(w => (w.Write, w.Body, w.Query, Tenant: ""))), (1, reads)).SampleAsync(async sample =>
        {
            using var request = sample.Write >= 0
                ? new HttpRequestMessage(Writes[sample.Write].Method, Writes[sample.Write].Path) { Content = sample.Body!.ToContent() }
                : new HttpRequestMessage(HttpMethod.Get, Queries[sample.Query]);
            if (sample.Tenant.Length > 0)
            {
                request.Headers.TryAddWithoutValidation("X-Lanes-Tenant", sample.Tenant);
            }

            using var response = await owner.SendAsync(request);
            Interlocked.Increment(ref sent);
            var text = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{(int)response.StatusCode}: {text}");
            Assert.NotEqual(HttpStatusCode.TooManyRequests, response.StatusCode);
            if (response.IsSuccessStatusCode)
            {
                if (sample.Write >= 0)
                {
                    Interlocked.Increment(ref accepted[sample.Write]);
                }

                return;
            }

            // Every refusal says why, as ProblemDetails with a machine-readable type; a value of the wrong type is
            // named (errors.<field>).
            Assert.True(response.Content.Headers.ContentType?.MediaType == "application/problem+json", $"{(int)response.StatusCode} as {response.Content.Headers.ContentType}: {text}");
            using var problem = JsonDocument.Parse(text);
            Assert.False(string.IsNullOrWhiteSpace(problem.RootElement.GetProperty("title").GetString()), text);
            Assert.True(problem.RootElement.TryGetProperty("type", out var type) && type.GetString() is { Length: > 0 }, text);
            if (sample.Body is { } body && IsValueReplaced(body) && type.GetString() == "invalid_body")
            {
                Assert.True(problem.RootElement.TryGetProperty("errors", out _), text);
            }
        }, iter: Iterations, print: s => s.Write >= 0 ? $"{Writes[s.Write].Path} {s.Body}" : $"{Queries[s.Query]} tenant '{s.Tenant}'");
        Assert.Equal(Iterations, sent);

        // Still serving; only cancel and resume can succeed in internal mode, and each success is one event: refused
        // requests recorded nothing. Nothing a customer sent made the trial anything but a trial.
        Assert.Equal(HttpStatusCode.OK, (await owner.GetAsync("/healthz")).StatusCode);
        Assert.Equal((0, 0, 0, 0), (accepted[0], accepted[1], accepted[4], accepted[5]));
        Assert.Equal(before + accepted[2] + accepted[3], await VersionAsync(tenant));
        var subscription = await portal.Get<SubscriptionService>().FindAsync(tenant);
        Assert.Equal(("starter", true), (subscription!.PlanId, subscription.FreeTrial));
    }

    /// <summary>A field's value swapped for a hostile one (<c>/plan := 1e400</c>), as opposed to a renamed field or root.</summary>
    private static bool IsValueReplaced(MalformedBody body) =>
        body.Mutation.Contains(" := ", StringComparison.Ordinal) && !body.Mutation.StartsWith("name of", StringComparison.Ordinal)
        && !body.Mutation.StartsWith("body :=", StringComparison.Ordinal);

    private async Task<Guid> TenantOfAsync(string email)
    {
        await using var scope = portal.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>().FindByEmailAsync(email);
        return Assert.Single(await portal.Get<TenantService>().MembershipsOfAsync(user!.Id)).Tenant.Id;
    }

    private async Task<long> VersionAsync(Guid tenant)
    {
        await using var query = portal.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenant));
        return (await query.Events.FetchStreamStateAsync(SubscriptionStreams.For(tenant)))!.Version;
    }
}
