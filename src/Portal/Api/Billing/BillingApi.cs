using Lanes.Billing;
using Lanes.Billing.BillingDetails;
using Lanes.Billing.Payments;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Organisations;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Lanes.Portal.Api.Billing;

/// <summary>
/// <c>/billing/api</c>: subscribe, preview and change plans (and undo a waiting downgrade), cancel and resume, open the
/// Stripe customer portal, read and change the billing details. Every action is <see cref="SubscriptionActions"/>'s,
/// as the billing page calls it. Only a signed-in owner or admin of the tenant may act; the tenant is the caller's (named
/// by <c>X-Lanes-Tenant</c> when they belong to several). Refusals are ProblemDetails (<see cref="ApiProblems"/>).
/// Note: the API is authenticated by the portal's cookie, so every state change carries an antiforgery token
/// (<c>GET /billing/api/antiforgery</c>, sent back in the <c>RequestVerificationToken</c> header): another site cannot
/// make a signed-in owner's browser cancel or buy.
/// </summary>
public static class BillingApi
{
    public const string TenantHeader = "X-Lanes-Tenant";

    public static RouteGroupBuilder MapBillingApi(this IEndpointRouteBuilder endpoints)
    {
        var api = endpoints.MapGroup("/billing/api").RequireAuthorization()
            .AddEndpointFilter(RequireAntiforgery)
            .AddEndpointFilter(ApiProblems.Filter);
        api.MapGet("/antiforgery", GetAntiforgeryToken);
        api.MapGet("/subscription", GetSubscriptionAsync);
        api.MapPost("/checkout", CheckoutAsync);
        api.MapPost("/trial", StartTrialAsync);
        api.MapPost("/portal", OpenCustomerPortalAsync);
        api.MapGet("/preview", PreviewChangeAsync);
        api.MapPost("/change-plan", ChangePlanAsync);
        api.MapPost("/keep-plan", KeepPlanAsync);
        api.MapPost("/cancel", CancelAsync);
        api.MapPost("/resume", ResumeAsync);

        // Who invoices and billing emails are for: members read it, owners change it (pushed to the Stripe customer).
        api.MapGet("/billing-details", GetBillingDetailsAsync);
        api.MapPut("/billing-details", UpdateBillingDetailsAsync);
        return api;
    }

    private static Ok<AntiforgeryView> GetAntiforgeryToken(HttpContext http, IAntiforgery antiforgery)
    {
        var tokens = antiforgery.GetAndStoreTokens(http);
        return TypedResults.Ok(new AntiforgeryView(tokens.RequestToken, tokens.HeaderName!));
    }

    private static Task<Results<Ok<BillingSubscriptionView>, ProblemHttpResult>> GetSubscriptionAsync(
        HttpContext http, OrganisationAccess access, SubscriptionService subscriptions, BillingModeInfo mode, TimeProvider clock) =>
        AsMemberAsync(http, access, MemberRole.Member, async org =>
        {
            var s = await subscriptions.FindAsync(org.TenantId, http.RequestAborted);
            var pending = s is { IsLive: true } ? null : await subscriptions.FindPendingAsync(org.TenantId, http.RequestAborted);
            return new BillingSubscriptionView(
                pending?.PaymentProcessing ?? false, s?.CollectionPause is not null, s?.CollectionResumesAt, mode.Mode.ToString().ToLowerInvariant(),
                mode.IsTestMode, s?.PlanId, s?.Status.ToString(), s?.ReservedLanesAt(clock.GetUtcNow()) ?? 0, s?.PeriodEnd, s?.ScheduledChange);
        });

    private static Task<Results<Ok<RedirectView>, ProblemHttpResult>> CheckoutAsync(
        PlanCommand command, HttpContext http, OrganisationAccess access, SubscriptionActions actions) =>
        AsMemberAsync(http, access, MemberRole.Admin, async org =>
            new RedirectView(await actions.CheckoutAsync(org.TenantId, command.Plan, org.Email, command.CommandId, http.RequestAborted)));

    private static Task<Results<Ok<TrialView>, ProblemHttpResult>> StartTrialAsync(
        HttpContext http, OrganisationAccess access, SubscriptionActions actions) =>
        AsMemberAsync(http, access, MemberRole.Admin, async org =>
        {
            var s = await actions.StartTrialAsync(org.TenantId, org.UserId, http.RequestAborted);
            return new TrialView(s.PlanId, s.Status.ToString(), s.PeriodEnd);
        });

    private static Task<Results<Ok<RedirectView>, ProblemHttpResult>> OpenCustomerPortalAsync(
        BillingCommand command, HttpContext http, OrganisationAccess access, SubscriptionActions actions) =>
        AsMemberAsync(http, access, MemberRole.Admin, async org =>
            new RedirectView(await actions.OpenCustomerPortalAsync(org.TenantId, command.CommandId, http.RequestAborted)));

    private static Task<Results<Ok<PlanChangePreview>, ProblemHttpResult>> PreviewChangeAsync(
        string plan, HttpContext http, OrganisationAccess access, SubscriptionActions actions) =>
        AsMemberAsync(http, access, MemberRole.Admin, org => actions.PreviewChangeAsync(org.TenantId, plan, http.RequestAborted));

    private static Task<Results<Ok<PlanChangeView>, ProblemHttpResult>> ChangePlanAsync(
        PlanCommand command, HttpContext http, OrganisationAccess access, SubscriptionActions actions) =>
        AsMemberAsync(http, access, MemberRole.Admin, async org =>
        {
            var changed = await actions.ChangePlanAsync(org.TenantId, command.Plan, org.UserId, command.CommandId, command.ProrationDate, http.RequestAborted);
            return new PlanChangeView(changed.Subscription.PlanId, changed.Subscription.ScheduledChange, changed.PaymentPending, changed.PaymentUrl);
        });

    /// <summary>Undoes a downgrade waiting for the period end.</summary>
    private static Task<Results<Ok<KeptPlanView>, ProblemHttpResult>> KeepPlanAsync(
        BillingCommand command, HttpContext http, OrganisationAccess access, SubscriptionActions actions) =>
        AsMemberAsync(http, access, MemberRole.Admin, async org =>
        {
            var s = await actions.KeepPlanAsync(org.TenantId, org.UserId, command.CommandId, http.RequestAborted);
            return new KeptPlanView(s.PlanId, s.ScheduledChange);
        });

    private static Task<Results<Ok<CancellationView>, ProblemHttpResult>> CancelAsync(
        BillingCommand command, HttpContext http, OrganisationAccess access, SubscriptionActions actions) =>
        AsMemberAsync(http, access, MemberRole.Owner, async org =>
        {
            var s = await actions.CancelAsync(org.TenantId, org.UserId, command.CommandId, http.RequestAborted);
            return new CancellationView(s.Status.ToString(), s.CancelsAt);
        });

    private static Task<Results<Ok<ResumedView>, ProblemHttpResult>> ResumeAsync(
        BillingCommand command, HttpContext http, OrganisationAccess access, SubscriptionActions actions) =>
        AsMemberAsync(http, access, MemberRole.Owner, async org =>
            new ResumedView((await actions.ResumeAsync(org.TenantId, org.UserId, command.CommandId, http.RequestAborted)).Status.ToString()));

    private static Task<Results<Ok<BillingDetailsView>, ProblemHttpResult>> GetBillingDetailsAsync(
        HttpContext http, OrganisationAccess access, BillingContactService contacts) =>
        AsMemberAsync(http, access, MemberRole.Member, async org => BillingDetailsView.Of(await contacts.FindAsync(org.TenantId, http.RequestAborted)));

    private static Task<Results<Ok<BillingDetailsView>, ProblemHttpResult>> UpdateBillingDetailsAsync(
        BillingDetailsCommand command, HttpContext http, OrganisationAccess access, BillingContactService contacts) =>
        AsMemberAsync(http, access, MemberRole.Owner, async org =>
            BillingDetailsView.Of(await contacts.UpdateAsync(org.TenantId, command, org.UserId, http.RequestAborted)));

    /// <summary>Runs <paramref name="action"/> for the organisation the request names when the caller has at least
    /// <paramref name="atLeast"/> there; otherwise answers why not (404 for an organisation that is not theirs, 403 for
    /// a role too low). A business refusal inside the action becomes a ProblemDetails in <see cref="ApiProblems"/>.</summary>
    private static async Task<Results<Ok<T>, ProblemHttpResult>> AsMemberAsync<T>(
        HttpContext http, OrganisationAccess access, MemberRole atLeast, Func<OrganisationContext, Task<T>> action)
    {
        var acting = await ActingAsync(http, access, atLeast);
        return acting.Org is { } org ? TypedResults.Ok(await action(org)) : acting.Refusal!;
    }

    /// <summary>The organisation a request acts for, or why it may not act.</summary>
    private readonly record struct Acting(OrganisationContext? Org, ProblemHttpResult? Refusal);

    /// <summary>The organisation the request names, when the caller has at least <paramref name="atLeast"/> there.</summary>
    private static async Task<Acting> ActingAsync(HttpContext http, OrganisationAccess access, MemberRole atLeast)
    {
        var org = await access.NamedByRequestAsync(http.User, http.Request.Headers[TenantHeader].FirstOrDefault(), http.RequestAborted);
        return org switch
        {
            null => new(null, TypedResults.Problem(statusCode: StatusCodes.Status404NotFound,
                title: $"No such organisation. If you belong to several, say which in {TenantHeader}.")),
            _ when org.Role < atLeast => new(null, TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden,
                title: $"Only an {atLeast.ToString().ToLowerInvariant()} of {org.Tenant.Name} may do this.")),
            _ => new(org, null),
        };
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
                return TypedResults.Problem(statusCode: StatusCodes.Status400BadRequest, type: "antiforgery",
                    title: "This request has no valid antiforgery token: get one from GET /billing/api/antiforgery and send it in the RequestVerificationToken header.");
            }
        }

        return await next(context);
    }
}
