using Lanes.Billing.BillingDetails;
using Lanes.Portal.Api.Auth;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Lanes.Portal.Api.Subscriptions;

/// <summary><c>/api/v1/billing-details</c>: who the tenant's invoices and billing emails are for (read-only here; owners
/// change it on the billing page).</summary>
public static class BillingDetailsApi
{
    public static void MapBillingDetailsApi(this RouteGroupBuilder api)
    {
        api.MapGet("/billing-details", GetBillingDetailsAsync).WithTags("Subscription").WithName("GetBillingDetails")
            .RequireScope(ManagementScopes.BillingRead).WithSummary("The tenant's billing email, name and address");
    }

    private static async Task<Ok<BillingDetailsView>> GetBillingDetailsAsync(HttpContext http, BillingContactService contacts) =>
        TypedResults.Ok(BillingDetailsView.Of(await contacts.FindAsync(ManagementCaller.Of(http).TenantId, http.RequestAborted)));
}
