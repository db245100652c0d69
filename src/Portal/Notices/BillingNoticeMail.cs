using System.Globalization;
using System.Net;
using Lanes.Billing.Notices;

namespace Lanes.Portal.Notices;

/// <summary>One billing email: a one-line subject and a short HTML body.</summary>
public sealed record NoticeMail(string Subject, string HtmlBody);

/// <summary>
/// The wording of Lanes' billing emails. Pure: what happened, what it means for the lanes and keys, and the one place
/// to act (the billing page, or Stripe's page for a payment to confirm). Every value that came from a person (the
/// organisation's name) is HTML-encoded, and no email carries a key or a secret.
/// </summary>
public static class BillingNoticeMail
{
    public static NoticeMail Compose(BillingNotice notice, string organisation, string? planName, string billingPageUrl, bool toBillingContact)
    {
        var org = WebUtility.HtmlEncode(organisation);
        var plan = WebUtility.HtmlEncode(planName ?? "your");
        var billingLink = $"<a href='{WebUtility.HtmlEncode(billingPageUrl)}'>billing page</a>";
        var d = notice.Data;
        var (subject, body) = notice.Kind switch
        {
            BillingNoticeKind.PaymentFailed => (
                $"Payment failed for {organisation}: pay by {When(d.GraceEndsAt)} to keep your lanes",
                $"<p>We could not take the payment for {org}'s {plan} subscription.</p>" +
                $"<p>Until {When(d.GraceEndsAt)} (the grace period) {org} keeps {Lanes(d.GraceLanes)} of its {Lanes(d.PlanLanes)} reserved lanes. " +
                "If the payment is still missing then, the subscription ends and its API keys stop working.</p>" +
                $"<p>Pay the open invoice or change the payment method from the {billingLink}. As soon as it is paid, every lane comes back.</p>"),
            BillingNoticeKind.AuthenticationNeeded => (
                $"Confirm a payment for {organisation}'s Lanes subscription",
                $"<p>Your bank asks you to confirm the payment of {(d.InvoiceId is null ? "an invoice" : $"invoice {WebUtility.HtmlEncode(d.InvoiceId)}")} " +
                $"for {org}'s {plan} subscription (for example in your banking app).</p>" +
                $"<p><a href='{WebUtility.HtmlEncode(PaymentPage(d.HostedInvoiceUrl, billingPageUrl))}'>Confirm the payment</a>. Until then the invoice is unpaid: " +
                $"an upgrade waits for it, and an unpaid renewal starts the grace period. The invoice is also on the {billingLink}.</p>"),
            BillingNoticeKind.TrialEnding when d.FreeTrial => (
                $"{organisation}'s Lanes trial ends on {When(d.TrialEndsAt)}",
                $"<p>{org}'s free trial of {plan} ({Lanes(d.PlanLanes)} lanes) ends on {When(d.TrialEndsAt)}. " +
                "Then its lanes are released and its API keys stop working.</p>" +
                $"<p>To keep going, ask Lanes staff for a plan; the {billingLink} says how.</p>"),
            BillingNoticeKind.TrialEnding => (
                $"{organisation}'s Lanes trial ends on {When(d.TrialEndsAt)}",
                $"<p>{org}'s trial of {plan} ({Lanes(d.PlanLanes)} lanes) ends on {When(d.TrialEndsAt)}. " +
                "Then the card on file is charged for the plan and the subscription goes on.</p>" +
                $"<p>Check the payment method, or cancel before then if you do not want to continue, on the {billingLink}.</p>"),
            BillingNoticeKind.SubscriptionEnded => (
                $"{organisation}'s Lanes subscription has ended",
                $"<p>{org}'s {plan} subscription has ended: {Why(d.EndReason)}. Its lanes are released and its API keys have stopped working.</p>" +
                $"<p>To start again, choose a plan (or ask Lanes staff for one) on the {billingLink}.</p>"),
            _ => throw new ArgumentOutOfRangeException(nameof(notice), notice.Kind, "No wording for this notice."),
        };

        var why = toBillingContact
            ? $"You get this email as the billing contact of {org} on Lanes."
            : $"You get this email as an owner of {org} on Lanes; owners can send billing emails to another address on the {billingLink}.";
        return new NoticeMail(OneLine(subject), $"{body}<p style='color:#666'>{why}</p>");
    }

    private static string Why(string? reason) => reason switch
    {
        "grace_expired" => "the payment was still missing when the grace period ended",
        "cancelled" => "it was cancelled and the period paid for is over",
        "trial_ended" => "the free trial is over",
        "stripe_canceled" => "it was canceled in Stripe",
        _ => "Lanes staff ended it",
    };

    /// <summary>Stripe's page for the invoice when it is one (an https link), else the billing page.</summary>
    private static string PaymentPage(string? hostedInvoiceUrl, string billingPageUrl) =>
        Uri.TryCreate(hostedInvoiceUrl, UriKind.Absolute, out var url) && url.Scheme == Uri.UriSchemeHttps ? url.AbsoluteUri : billingPageUrl;

    private static string When(DateTimeOffset? at) =>
        at is { } t ? t.UtcDateTime.ToString("d MMM yyyy HH:mm 'UTC'", CultureInfo.InvariantCulture) : "the date on the billing page";

    private static string Lanes(int? lanes) => lanes?.ToString(CultureInfo.InvariantCulture) ?? "some";

    /// <summary>A subject is one header line: an organisation's name never adds another.</summary>
    private static string OneLine(string text) => new([.. text.Select(c => char.IsControl(c) ? ' ' : c)]);
}
