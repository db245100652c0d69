using Lanes.Billing.Payments;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Lanes.Portal.Api.Billing;

/// <summary><c>POST /stripe/webhook</c>: hands Stripe's delivery to <see cref="StripeEventInbox"/> and answers at
/// once. A refusal is a 400 with the reason, never a 5xx, which would have Stripe retry the same bytes for days.</summary>
public static class StripeWebhookApi
{
    public sealed record ReceivedView(
        [property: System.Text.Json.Serialization.JsonPropertyName("received")] bool Received,
        [property: System.Text.Json.Serialization.JsonPropertyName("duplicate"),
                   System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)] bool? Duplicate = null);

    public sealed record RefusedView([property: System.Text.Json.Serialization.JsonPropertyName("error")] string Error);

    public static IEndpointConventionBuilder MapStripeWebhook(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapPost("/stripe/webhook", ReceiveAsync)
            .AllowAnonymous()
            .DisableAntiforgery(); // Stripe signs its requests; there is no browser form to protect.

    private static async Task<Results<Ok<ReceivedView>, BadRequest<RefusedView>, NotFound>> ReceiveAsync(HttpContext http, StripeEventInbox inbox)
    {
        if (!inbox.Takes)
        {
            return TypedResults.NotFound();
        }

        if (http.Request.ContentLength > StripeEventInbox.MaxPayloadBytes)
        {
            return TypedResults.BadRequest(new RefusedView("payload too large"));
        }

        using var reader = new StreamReader(http.Request.Body);
        var payload = await reader.ReadToEndAsync(http.RequestAborted);
        var delivery = await inbox.ReceiveAsync(payload, http.Request.Headers["Stripe-Signature"].ToString(), http.RequestAborted);
        return delivery.Outcome switch
        {
            StripeDelivery.Accepted => TypedResults.Ok(new ReceivedView(true)),
            StripeDelivery.Duplicate => TypedResults.Ok(new ReceivedView(true, Duplicate: true)),
            StripeDelivery.NotTaken => TypedResults.NotFound(),
            _ => TypedResults.BadRequest(new RefusedView(delivery.Reason ?? "refused")),
        };
    }
}
