using Lanes.Billing.Payments;

namespace Lanes.Billing.Subscriptions;

/// <summary>
/// What a tenant's owner or admin does to their subscription, each written once and called alike by the billing page
/// and the billing API: subscribe (checkout, or the free trial without payments), preview and change the plan, keep
/// it (undo a waiting downgrade), cancel and resume, open Stripe's customer portal. Each says when the deployment's
/// billing mode does not offer it, and Stripe's refusals come back as <see cref="RuleViolation"/>s with Stripe's reason.
/// </summary>
/// <remarks>Who may act is the caller's to check (the page and the API resolve the member and their role).</remarks>
public sealed class SubscriptionActions(SubscriptionService subscriptions, StripeBilling stripe, BillingModeInfo mode)
{
    /// <summary>Stripe mode: a checkout session for <paramref name="plan"/>, to send the buyer to.</summary>
    public Task<string> CheckoutAsync(Guid tenantId, string plan, string email, Guid commandId, CancellationToken ct = default) =>
        WithStripe(() => stripe.CheckoutAsync(tenantId, RequirePlan(plan), email, commandId, ct));

    /// <summary>Without payments: the tenant's one free trial.</summary>
    public Task<Subscription> StartTrialAsync(Guid tenantId, string by, CancellationToken ct = default) =>
        mode.Mode == BillingMode.Internal
            ? subscriptions.StartTrialAsync(tenantId, by, ct)
            : throw new RuleViolation("stripe_mode", "This deployment takes payments through Stripe: subscribe with checkout.");

    public Task<PlanChangePreview> PreviewChangeAsync(Guid tenantId, string plan, CancellationToken ct = default) =>
        WithStripe(() => stripe.PreviewChangeAsync(tenantId, RequirePlan(plan), ct));

    /// <summary>An upgrade now (prorated), or a downgrade at the period end. Note: without payments nothing pays for a
    /// bigger plan, so in internal mode only staff assign plans.</summary>
    public Task<PlanChangeResult> ChangePlanAsync(Guid tenantId, string plan, string by, Guid commandId, DateTimeOffset? prorationDate = null, CancellationToken ct = default) =>
        mode.Mode == BillingMode.Stripe
            ? Refusals(() => stripe.ChangePlanAsync(tenantId, RequirePlan(plan), by, commandId, prorationDate, ct))
            : throw new RuleViolation("staff_assigns_plans", "This deployment has no card payments: plans are assigned by Lanes staff. Ask them for the plan you need.");

    /// <summary>Undoes a downgrade waiting for the period end.</summary>
    public Task<Subscription> KeepPlanAsync(Guid tenantId, string by, Guid commandId, CancellationToken ct = default) =>
        WithStripe(() => stripe.KeepPlanAsync(tenantId, by, commandId, ct));

    /// <summary>Ends the subscription at the period end; keys work until then.</summary>
    public Task<Subscription> CancelAsync(Guid tenantId, string by, Guid commandId, CancellationToken ct = default) =>
        mode.Mode == BillingMode.Stripe
            ? Refusals(() => stripe.CancelAsync(tenantId, by, commandId, ct))
            : subscriptions.CancelAsync(tenantId, by, ct);

    /// <summary>Takes back a cancellation before the period ends.</summary>
    public Task<Subscription> ResumeAsync(Guid tenantId, string by, Guid commandId, CancellationToken ct = default) =>
        mode.Mode == BillingMode.Stripe
            ? Refusals(() => stripe.ResumeAsync(tenantId, by, commandId, ct))
            : subscriptions.ResumeAsync(tenantId, by, ct);

    /// <summary>Stripe's customer portal (cards, invoices), for this tenant.</summary>
    public Task<string> OpenCustomerPortalAsync(Guid tenantId, Guid commandId, CancellationToken ct = default) =>
        WithStripe(() => stripe.PortalAsync(tenantId, commandId, ct));

    private Task<T> WithStripe<T>(Func<Task<T>> action) =>
        mode.Mode == BillingMode.Stripe
            ? Refusals(action)
            : throw new RuleViolation("internal_mode", "This deployment has no card payments: plans are assigned by Lanes staff.");

    private static async Task<T> Refusals<T>(Func<Task<T>> action)
    {
        try
        {
            return await action();
        }
        catch (global::Stripe.StripeException e)
        {
            // A declined card is the customer's to fix, a request Stripe finds invalid is a refusal like any other,
            // and anything else (Stripe unreachable, or failing) is Stripe's: try again.
            var code = e.StripeError?.Type switch
            {
                "card_error" => "card_declined",
                "invalid_request_error" => "payment_refused",
                _ => "payment_provider",
            };
            throw new RuleViolation(code, $"Stripe refused: {e.StripeError?.Message ?? "try again in a minute"}.");
        }
    }

    private static string RequirePlan(string? plan) =>
        string.IsNullOrWhiteSpace(plan) ? throw new RuleViolation("plan_required", "Say which plan (plan: starter, pro, team...).") : plan;
}
