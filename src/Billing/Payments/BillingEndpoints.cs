using System.Security.Claims;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Billing.Payments;

/// <summary>A customer's billing actions, as the portal calls them.</summary>
public sealed record PlanCommand(string Plan, Guid CommandId, DateTimeOffset? ProrationDate = null);

public sealed record BillingCommand(Guid CommandId);

/// <summary>
/// <c>/billing/api</c>: subscribe, preview and change plans (and undo a waiting downgrade), cancel and resume, open the Stripe customer portal.
/// Only a signed-in owner or admin of the tenant may act; the tenant is the caller's (by <c>X-Lanes-Tenant</c> when
/// they belong to several). Errors are ProblemDetails. Note: the API is authenticated by the portal's cookie, so
/// every state change carries an antiforgery token (<c>GET /billing/api/antiforgery</c>, sent back in the
/// <c>RequestVerificationToken</c> header): another site cannot make a signed-in owner's browser cancel or buy.
/// </summary>
public static class BillingEndpoints
{
    public static RouteGroupBuilder MapBillingApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/billing/api").RequireAuthorization().AddEndpointFilter(RequireAntiforgery);

        api.MapGet("/antiforgery", (HttpContext http, IAntiforgery antiforgery) =>
        {
            var tokens = antiforgery.GetAndStoreTokens(http);
            return Results.Ok(new { token = tokens.RequestToken, header_name = tokens.HeaderName });
        });

        api.MapGet("/subscription", (HttpContext http, TenantService tenants, SubscriptionService subscriptions, BillingModeInfo mode, TimeProvider clock) =>
            Act(http, tenants, MemberRole.Member, async t =>
            {
                var s = await subscriptions.FindAsync(t.Id);
                var pending = s is { IsLive: true } ? null : await subscriptions.FindPendingAsync(t.Id);
                return Results.Ok(new
                {
                    payment_processing = pending?.PaymentProcessing ?? false,
                    collection_paused = s?.CollectionPause is not null,
                    collection_resumes_at = s?.CollectionResumesAt,
                    mode = mode.Mode.ToString().ToLowerInvariant(),
                    test_mode = mode.IsTestMode,
                    plan = s?.PlanId,
                    status = s?.Status.ToString(),
                    reserved_lanes = s?.ReservedLanesAt(clock.GetUtcNow()) ?? 0,
                    period_end = s?.PeriodEnd,
                    scheduled_change = s?.ScheduledChange,
                });
            }));

        api.MapPost("/checkout", (PlanCommand command, HttpContext http, TenantService tenants, StripeBilling stripe, BillingModeInfo mode) =>
            Act(http, tenants, MemberRole.Admin, async t =>
            {
                RequireStripe(mode);
                var email = http.User.FindFirstValue(ClaimTypes.Email) ?? "";
                return Results.Ok(new { url = await stripe.CheckoutAsync(t.Id, PlanOf(command), email, command.CommandId) });
            }));

        api.MapPost("/trial", (HttpContext http, TenantService tenants, SubscriptionService subscriptions, BillingModeInfo mode) =>
            Act(http, tenants, MemberRole.Admin, async t =>
            {
                if (mode.Mode != BillingMode.Internal)
                {
                    throw new RuleViolation("stripe_mode", "This deployment takes payments through Stripe: subscribe with checkout.");
                }

                var s = await subscriptions.StartTrialAsync(t.Id, UserOf(http));
                return Results.Ok(new { plan = s.PlanId, status = s.Status.ToString(), period_end = s.PeriodEnd });
            }));

        api.MapPost("/portal", (BillingCommand command, HttpContext http, TenantService tenants, StripeBilling stripe, BillingModeInfo mode) =>
            Act(http, tenants, MemberRole.Admin, async t =>
            {
                RequireStripe(mode);
                return Results.Ok(new { url = await stripe.PortalAsync(t.Id, command.CommandId) });
            }));

        api.MapGet("/preview", (string plan, HttpContext http, TenantService tenants, StripeBilling stripe, BillingModeInfo mode) =>
            Act(http, tenants, MemberRole.Admin, async t =>
            {
                RequireStripe(mode);
                return Results.Ok(await stripe.PreviewChangeAsync(t.Id, plan));
            }));

        api.MapPost("/change-plan", (PlanCommand command, HttpContext http, TenantService tenants, StripeBilling stripe, SubscriptionService subscriptions, BillingModeInfo mode) =>
            Act(http, tenants, MemberRole.Admin, async t =>
            {
                // Note: without payments nothing pays for a bigger plan, so in internal mode only staff assign plans.
                var changed = mode.Mode == BillingMode.Stripe
                    ? await stripe.ChangePlanAsync(t.Id, PlanOf(command), UserOf(http), command.CommandId, command.ProrationDate)
                    : throw new RuleViolation("staff_assigns_plans", "This deployment has no card payments: plans are assigned by Lanes staff. Ask them for the plan you need.");
                return Results.Ok(new
                {
                    plan = changed.Subscription.PlanId,
                    scheduled_change = changed.Subscription.ScheduledChange,
                    payment_pending = changed.PaymentPending,
                    payment_url = changed.PaymentUrl,
                });
            }));

        api.MapPost("/keep-plan", (BillingCommand command, HttpContext http, TenantService tenants, StripeBilling stripe, BillingModeInfo mode) =>
            Act(http, tenants, MemberRole.Admin, async t =>
            {
                // Undoes a downgrade waiting for the period end.
                RequireStripe(mode);
                var s = await stripe.KeepPlanAsync(t.Id, UserOf(http), command.CommandId);
                return Results.Ok(new { plan = s.PlanId, scheduled_change = s.ScheduledChange });
            }));

        api.MapPost("/cancel", (BillingCommand command, HttpContext http, TenantService tenants, StripeBilling stripe, SubscriptionService subscriptions, BillingModeInfo mode) =>
            Act(http, tenants, MemberRole.Owner, async t =>
            {
                var s = mode.Mode == BillingMode.Stripe
                    ? await stripe.CancelAsync(t.Id, UserOf(http), command.CommandId)
                    : await subscriptions.CancelAsync(t.Id, UserOf(http));
                return Results.Ok(new { status = s.Status.ToString(), cancels_at = s.CancelsAt });
            }));

        api.MapPost("/resume", (BillingCommand command, HttpContext http, TenantService tenants, StripeBilling stripe, SubscriptionService subscriptions, BillingModeInfo mode) =>
            Act(http, tenants, MemberRole.Owner, async t =>
            {
                var s = mode.Mode == BillingMode.Stripe
                    ? await stripe.ResumeAsync(t.Id, UserOf(http), command.CommandId)
                    : await subscriptions.ResumeAsync(t.Id, UserOf(http));
                return Results.Ok(new { status = s.Status.ToString() });
            }));

        // Who invoices and billing emails are for: members read it, owners change it (pushed to the Stripe customer).
        api.MapGet("/billing-details", (HttpContext http, TenantService tenants, BillingDetails.BillingContactService contacts) =>
            Act(http, tenants, MemberRole.Member, async t => Results.Ok(BillingDetails.BillingDetailsView.Of(await contacts.FindAsync(t.Id)))));

        api.MapPut("/billing-details", (BillingDetails.BillingDetailsCommand command, HttpContext http, TenantService tenants, BillingDetails.BillingContactService contacts) =>
            Act(http, tenants, MemberRole.Owner, async t => Results.Ok(BillingDetails.BillingDetailsView.Of(await contacts.UpdateAsync(t.Id, command, UserOf(http))))));

        return api;
    }

    private static async Task<IResult> Act(HttpContext http, TenantService tenants, MemberRole atLeast, Func<TenantDirectoryEntry, Task<IResult>> action)
    {
        var memberships = await tenants.MembershipsOfAsync(UserOf(http), http.RequestAborted);
        var wanted = http.Request.Headers["X-Lanes-Tenant"].FirstOrDefault();
        var match = memberships.Where(m => wanted is null || m.Tenant.Slug == wanted).ToList();
        if (match.Count != 1)
        {
            // Note: another tenant's slug looks exactly like one that does not exist.
            return Results.Problem(statusCode: 404, title: match.Count == 0 ? "No such organisation." : "Say which organisation (X-Lanes-Tenant).");
        }

        if (match[0].Role < atLeast)
        {
            return Results.Problem(statusCode: 403, title: $"Only an {atLeast.ToString().ToLowerInvariant()} of {match[0].Tenant.Name} may do this.");
        }

        try
        {
            return await action(match[0].Tenant);
        }
        catch (RuleViolation e)
        {
            var status = e.Code switch
            {
                "capacity_exceeded" or "already_subscribed" or "trials_full" or "payment_processing" => 409,
                "staff_assigns_plans" => 403,
                _ => 400,
            };
            return Results.Problem(statusCode: status, title: e.Message, type: e.Code);
        }
    }

    private static async ValueTask<object?> RequireAntiforgery(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        if (!HttpMethods.IsGet(http.Request.Method) && !HttpMethods.IsHead(http.Request.Method))
        {
            try
            {
                await http.RequestServices.GetRequiredService<IAntiforgery>().ValidateRequestAsync(http);
            }
            catch (AntiforgeryValidationException)
            {
                return Results.Problem(statusCode: 400, type: "antiforgery",
                    title: "This request has no valid antiforgery token: get one from GET /billing/api/antiforgery and send it in the RequestVerificationToken header.");
            }
        }

        return await next(context);
    }

    private static string PlanOf(PlanCommand command) =>
        string.IsNullOrWhiteSpace(command.Plan) ? throw new RuleViolation("plan_required", "Say which plan (plan: starter, pro, team...).") : command.Plan;

    private static void RequireStripe(BillingModeInfo mode)
    {
        if (mode.Mode != BillingMode.Stripe)
        {
            throw new RuleViolation("internal_mode", "This deployment has no card payments: plans are assigned by Lanes staff.");
        }
    }

    private static string UserOf(HttpContext http) =>
        http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? throw new InvalidOperationException("An authorized request has a user id.");
}
