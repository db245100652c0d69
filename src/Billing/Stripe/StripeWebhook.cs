using System.Text.Json;
using Hangfire;
using Lanes.Billing.Infrastructure;
using Marten;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using global::Stripe;

namespace Lanes.Billing.Stripe;

/// <summary>
/// <c>POST /stripe/webhook</c>: verifies Stripe's signature, records the event once (a duplicate delivery is a no-op,
/// decided by the database, never by check-then-insert), answers at once and leaves the work to a Hangfire job.
/// </summary>
public static class StripeWebhook
{
    private const int MaxPayloadBytes = 512 * 1024;

    public static IEndpointConventionBuilder MapStripeWebhook(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/stripe/webhook", async (HttpContext http, [FromServices] IOptions<StripeOptions> options, [FromServices] IDocumentStore store,
            [FromServices] IBackgroundJobClient jobs, [FromServices] TimeProvider clock) =>
        {
            if (!options.Value.Enabled)
            {
                return Results.NotFound();
            }

            if (http.Request.ContentLength > MaxPayloadBytes)
            {
                return Results.BadRequest(new { error = "payload too large" });
            }

            using var reader = new StreamReader(http.Request.Body);
            var payload = await reader.ReadToEndAsync(http.RequestAborted);
            Event stripeEvent;
            try
            {
                if (!HasApiVersion(payload))
                {
                    return Results.BadRequest(new { error = "the event has no api_version" });
                }

                stripeEvent = EventUtility.ConstructEvent(payload, http.Request.Headers["Stripe-Signature"], options.Value.WebhookSecret,
                    (long)options.Value.WebhookTolerance.TotalSeconds, clock.GetUtcNow().ToUnixTimeSeconds(), throwOnApiVersionMismatch: true);
            }
            catch (StripeException e)
            {
                // Bad or stale signature, or another API version: nothing is recorded.
                return Results.BadRequest(new { error = e.Message });
            }

            await using var session = store.LightweightSession();
            session.Insert(new StripeEventReceipt(stripeEvent.Id, stripeEvent.Type,
                new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc)), payload, clock.GetUtcNow()));
            try
            {
                await session.SaveChangesAsync(http.RequestAborted);
            }
            catch (Exception e) when (Conflicts.IsUniqueViolation(e))
            {
                // Seen before. If its job never finished, Stripe's retry is the moment to try again (the job is re-entrant).
                await using var query = store.QuerySession();
                if (await query.LoadAsync<StripeEventReceipt>(stripeEvent.Id, http.RequestAborted) is { ProcessedAt: null })
                {
                    jobs.Enqueue<StripeEventJob>(j => j.ProcessAsync(stripeEvent.Id, CancellationToken.None));
                }

                return Results.Ok(new { received = true, duplicate = true });
            }

            jobs.Enqueue<StripeEventJob>(j => j.ProcessAsync(stripeEvent.Id, CancellationToken.None));
            return Results.Ok(new { received = true });
        }).AllowAnonymous().DisableAntiforgery(); // Stripe signs its requests; there is no browser form to protect.

    private static bool HasApiVersion(string payload)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                   && doc.RootElement.TryGetProperty("api_version", out var v) && v.ValueKind == JsonValueKind.String;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
