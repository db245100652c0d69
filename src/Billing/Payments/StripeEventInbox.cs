using System.Text.Json;
using Hangfire;
using Lanes.Billing.Infrastructure;
using Marten;
using Microsoft.Extensions.Options;
using Stripe;

namespace Lanes.Billing.Payments;

/// <summary>What became of a delivery of Stripe's webhook.</summary>
public enum StripeDelivery
{
    /// <summary>Recorded; a job processes it.</summary>
    Accepted,

    /// <summary>Seen before (a retry): nothing new is recorded.</summary>
    Duplicate,

    /// <summary>Not a signed, current, readable Stripe event: nothing is recorded, and Stripe should not retry it.</summary>
    Refused,

    /// <summary>This deployment does not take Stripe's events.</summary>
    NotTaken,
}

/// <summary>A delivery's outcome, and for a refused one why.</summary>
public readonly record struct StripeDeliveryResult(StripeDelivery Outcome, string? Reason = null)
{
    public static StripeDeliveryResult Refuse(string reason) => new(StripeDelivery.Refused, reason);
}

/// <summary>
/// Where Stripe's webhook deliveries arrive: the signature is verified, the event recorded once (a duplicate delivery
/// is a no-op, decided by the database, never by check-then-insert) and its processing left to a Hangfire job, so
/// Stripe gets its answer at once.
/// </summary>
public sealed class StripeEventInbox(IOptions<StripeOptions> options, IDocumentStore store, IBackgroundJobClient jobs, TimeProvider clock)
{
    public const int MaxPayloadBytes = 512 * 1024;

    public bool Takes => options.Value.Enabled;

    public async Task<StripeDeliveryResult> ReceiveAsync(string payload, string signature, CancellationToken ct)
    {
        if (!Takes)
        {
            return new StripeDeliveryResult(StripeDelivery.NotTaken);
        }

        if (signature.Length == 0)
        {
            return StripeDeliveryResult.Refuse("The Stripe-Signature header is missing.");
        }

        Event stripeEvent;
        try
        {
            if (!HasApiVersion(payload))
            {
                return StripeDeliveryResult.Refuse("the event has no api_version");
            }

            stripeEvent = EventUtility.ConstructEvent(payload, signature, options.Value.WebhookSecret,
                (long)options.Value.WebhookTolerance.TotalSeconds, clock.GetUtcNow().ToUnixTimeSeconds(), throwOnApiVersionMismatch: true);
        }
        catch (StripeException e)
        {
            // Bad or stale signature, or another API version: nothing is recorded.
            return StripeDeliveryResult.Refuse(e.Message);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException or OverflowException or ArgumentException or KeyNotFoundException)
        {
            // Note: signed with our secret but not an event Stripe.net can read. Its parser fails in all these ways
            // (a value of the wrong type or a lone surrogate: InvalidOperationException; "12.5x" for a decimal:
            // FormatException; a key given twice: ArgumentException). The same bytes would fail again, so this is
            // a refusal, never a 5xx, which would have Stripe retry it for days.
            return StripeDeliveryResult.Refuse("The event is signed but is not a Stripe event Lanes can read.");
        }

        if (!IsIdentifier(stripeEvent.Id) || !IsIdentifier(stripeEvent.Type))
        {
            // The id and type are stored as they are (the id is the receipt's key); Stripe's are short ASCII.
            return StripeDeliveryResult.Refuse("The event's id and type must be Stripe identifiers (letters, digits, '_', '.', '-').");
        }

        await using var session = store.LightweightSession();
        session.Insert(new StripeEventReceipt(stripeEvent.Id, stripeEvent.Type,
            new DateTimeOffset(DateTime.SpecifyKind(stripeEvent.Created, DateTimeKind.Utc)), payload, clock.GetUtcNow()));
        try
        {
            await session.SaveChangesAsync(ct);
        }
        catch (Exception e) when (Conflicts.IsUniqueViolation(e))
        {
            // Seen before. If its job never finished, Stripe's retry is the moment to try again (the job is re-entrant).
            await using var query = store.QuerySession();
            if (await query.LoadAsync<StripeEventReceipt>(stripeEvent.Id, ct) is { ProcessedAt: null })
            {
                jobs.Enqueue<StripeEventJob>(j => j.ProcessAsync(stripeEvent.Id, CancellationToken.None));
            }

            return new StripeDeliveryResult(StripeDelivery.Duplicate);
        }

        jobs.Enqueue<StripeEventJob>(j => j.ProcessAsync(stripeEvent.Id, CancellationToken.None));
        return new StripeDeliveryResult(StripeDelivery.Accepted);
    }

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
