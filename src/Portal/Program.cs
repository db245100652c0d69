using Lanes.Shared.Hosting;
using Lanes.Billing;
using Lanes.Billing.Payments;
using Lanes.Portal.Admin;
using Lanes.Portal.Api;
using Lanes.Portal.Api.Billing;
using Lanes.Portal.Components;
using Lanes.Portal.Identity;
using Lanes.Portal.Jobs;
using Lanes.Portal.Organisations;
using Lanes.Portal.Security;
using MudBlazor.Services;

if (args is ["admin", ..])
{
    return await OperatorCli.RunAsync(args[1..]);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddLanesLogging();
// One host runs everything; in a cluster, web replicas scale with traffic and one jobs deployment runs the
// Hangfire server (infra/k8s: Lanes__Role=web | jobs).
builder.AddBilling(builder.Configuration["Lanes:Role"] switch
{
    null or "" or "all" => BillingRole.Jobs,
    "web" => BillingRole.Services,
    "jobs" => BillingRole.Jobs,
    var other => throw new InvalidOperationException($"Lanes:Role '{other}' is not known; use web, jobs or leave it unset for both."),
});
builder.AddPortalIdentity();
builder.AddPortalRateLimits();
builder.AddTrustedProxies();
builder.AddManagementApi();
builder.Services.AddRazorComponents().AddInteractiveServerComponents();
builder.Services.AddCascadingAuthenticationState();
// Snackbars open at the bottom, clear of the top bar and its controls.
builder.Services.AddMudServices(mud => mud.SnackbarConfiguration.PositionClass = MudBlazor.Defaults.Classes.Position.BottomLeft);
builder.Services.AddScoped<Lanes.Portal.Account.Signup>();
builder.AddOrganisations();

var app = builder.Build();
await IdentityStore.MigrateAsync(app.Services);
app.UseTrustedProxies();
app.UseSecurityHeaders();

if (!app.Environment.IsDevelopment())
{
    // People get the friendly error page; APIs and webhooks get ProblemDetails, never an HTML page.
    static bool IsApi(HttpContext http) =>
        http.Request.Path.StartsWithSegments(ManagementApi.Prefix) || http.Request.Path.StartsWithSegments("/billing/api") || http.Request.Path.StartsWithSegments("/stripe");
    app.UseWhen(IsApi, api => api.UseExceptionHandler());
    app.UseWhen(http => !IsApi(http), pages => pages.UseExceptionHandler("/Error", createScopeForErrors: true));
    app.UseHsts();
}

// Friendly status pages for people browsing; APIs and webhooks keep their own status and body.
app.UseWhen(http => HttpMethods.IsGet(http.Request.Method) && !http.Request.Path.StartsWithSegments("/billing/api") && !http.Request.Path.StartsWithSegments(ManagementApi.Prefix) && !http.Request.Path.StartsWithSegments("/hangfire"),
    pages => pages.UseStatusCodePagesWithReExecute("/not-found", createScopeForStatusCodePages: true));
app.UseManagementApiProblems();
// Before authentication: the token endpoint answers inside it.
app.UseRateLimiter();
app.UseAuthentication();
app.UseAuthorization();
app.UseAntiforgery();
app.MapStaticAssets();
app.MapLanesHealth();
app.MapJobsDashboard();
app.MapStripeWebhook();
app.MapBillingApi().RequirePerUserLimit();
app.MapOrganisationEndpoints();
app.MapManagementApi();
app.MapRazorComponents<App>().AddInteractiveServerRenderMode();
app.MapAdditionalIdentityEndpoints();

await app.RunAsync();
return 0;

/// <summary>Entry point type, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
