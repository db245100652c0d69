using Lanes.Portal.Components.Pages.Usage;
using Microsoft.Extensions.Options;

namespace Lanes.Portal.Organisations;

public static class OrganisationHostingExtensions
{
    /// <summary>The customer-facing features: who acts for which organisation, and what the portal links to.</summary>
    public static WebApplicationBuilder AddOrganisations(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<PortalOptions>().BindConfiguration(PortalOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<PortalOptions>, PortalOptionsValidator>();
        builder.Services.AddScoped<OrganisationAccess>();
        builder.Services.AddSingleton<Identity.UserNames>();
        return builder;
    }

    public static IEndpointRouteBuilder MapOrganisationEndpoints(this IEndpointRouteBuilder endpoints)
    {
        endpoints.MapUsageExport();
        return endpoints;
    }
}
