using Hangfire;
using Hangfire.Dashboard;
using Lanes.Portal.Identity;

namespace Lanes.Portal.Jobs;

public static class JobsDashboard
{
    /// <summary>Hangfire's dashboard at <c>/hangfire</c>, for staff only.</summary>
    public static void MapJobsDashboard(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapHangfireDashboard("/hangfire", new DashboardOptions
        {
            Authorization = [],
            AsyncAuthorization = [new StaffOnly()],
            DisplayStorageConnectionString = false,
        });

    private sealed class StaffOnly : IDashboardAsyncAuthorizationFilter
    {
        public Task<bool> AuthorizeAsync(DashboardContext context) =>
            Task.FromResult(Security.StaffAccess.IsStaff(context.GetHttpContext().User));
    }
}
