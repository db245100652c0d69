using System.Security.Claims;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Lanes.Billing.Stripe;

/// <summary>A customer's billing actions, as the portal calls them.</summary>
public sealed record PlanCommand(string Plan, Guid CommandId);

public sealed record BillingCommand(Guid CommandId);

/// <summary>
/// <c>/billing/api</c>: subscribe, preview and change plans, cancel and resume, open the Stripe customer portal.
/// Only a signed-in owner or admin of the tenant may act; the tenant is the caller's (by <c>X-Lanes-Tenant</c> when
/// they belong to several). Errors are ProblemDetails.
/// </summary>
public static class BillingEndpoints
{
    public static RouteGroupBuilder MapBillingApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/billing/api").RequireAuthorization();

        api.MapGet("/subscription", (HttpContext http, TenantService tenants, SubscriptionService subscriptions, BillingModeInfo mode, TimeProvider clock) =>
            Act(http, tenants, MemberRole.Member, async t =>
            {
                var s = await subscriptions.FindAsync(t.Id);
                return Results.Ok(new
                {
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
                return Results.Ok(new { url = await stripe.CheckoutAsync(t.Id, command.Plan, email, command.CommandId) });
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
                var s = mode.Mode == BillingMode.Stripe
                    ? await stripe.ChangePlanAsync(t.Id, command.Plan, UserOf(http), command.CommandId)
                    : await subscriptions.ChangePlanAsCustomerAsync(t.Id, command.Plan, UserOf(http));
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
            return Results.Problem(statusCode: e.Code is "capacity_exceeded" or "already_subscribed" ? 409 : 400, title: e.Message, type: e.Code);
        }
    }

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
