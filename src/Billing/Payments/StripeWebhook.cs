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

namespace Lanes.Billing.Payments;

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

            var signature = http.Request.Headers["Stripe-Signature"].ToString();
            if (signature.Length == 0)
            {
                return Results.BadRequest(new { error = "The Stripe-Signature header is missing." });
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

                stripeEvent = EventUtility.ConstructEvent(payload, signature, options.Value.WebhookSecret,
                    (long)options.Value.WebhookTolerance.TotalSeconds, clock.GetUtcNow().ToUnixTimeSeconds(), throwOnApiVersionMismatch: true);
            }
            catch (StripeException e)
            {
                // Bad or stale signature, or another API version: nothing is recorded.
                return Results.BadRequest(new { error = e.Message });
            }
            catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or OverflowException or ArgumentException or KeyNotFoundException)
            {
                // Note: signed with our secret but not an event Stripe.net can read. Its parser fails in all these ways
                // (a value of the wrong type or a lone surrogate: InvalidOperationException; "12.5x" for a decimal:
                // FormatException; a key given twice: ArgumentException). The same bytes would fail again, so this is
                // a 400, never a 5xx, which would have Stripe retry it for days.
                return Results.BadRequest(new { error = "The event is signed but is not a Stripe event Lanes can read." });
            }

            if (!IsIdentifier(stripeEvent.Id) || !IsIdentifier(stripeEvent.Type))
            {
                // The id and type are stored as they are (the id is the receipt's key); Stripe's are short ASCII.
                return Results.BadRequest(new { error = "The event's id and type must be Stripe identifiers (letters, digits, '_', '.', '-')." });
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

    private static bool IsIdentifier(string? text) =>
        text is { Length: > 0 and <= 255 } && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

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
