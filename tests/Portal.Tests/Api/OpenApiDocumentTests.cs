using System.Text.RegularExpressions;
using Lanes.Portal.Api;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.OpenApi;

namespace Lanes.Portal.Tests.Api;

/// <summary>The OpenAPI document at /openapi/v1.json: valid OpenAPI 3.x, every mapped /api/v1 endpoint in it, each with
/// the client-credentials scheme and its scope.</summary>
[Collection(PortalHosts.Name)]
public partial class OpenApiDocumentTests(PortalOnKestrel portal) : IClassFixture<PortalOnKestrel>
{
    [Fact]
    public async Task The_document_validates_and_lists_every_api_endpoint()
    {
        using var http = portal.Http();
        using var response = await http.GetAsync("/openapi/v1.json");
        response.EnsureSuccessStatusCode();
        var read = OpenApiDocument.Parse(await response.Content.ReadAsStringAsync(), "json");

        Assert.Empty(read.Diagnostic!.Errors);
        Assert.StartsWith("3.", read.Document!.Info is not null ? VersionOf(read.Diagnostic.SpecificationVersion) : "");
        var scheme = Assert.IsType<OpenApiSecurityScheme>(read.Document.Components!.SecuritySchemes![ManagementApi.SecuritySchemeId], exactMatch: false);
        Assert.Equal(SecuritySchemeType.OAuth2, scheme.Type);
        Assert.Equal("/connect/token", scheme.Flows!.ClientCredentials!.TokenUrl!.OriginalString);

        var mapped = portal.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith(ManagementApi.Prefix, StringComparison.Ordinal) == true)
            .SelectMany(e => e.Metadata.GetMetadata<HttpMethodMetadata>()!.HttpMethods.Select(m => (Method: m, Path: Constraint().Replace(e.RoutePattern.RawText!, "{$1}").TrimEnd('/'))))
            .ToList();
        Assert.True(mapped.Count >= 9, $"only {mapped.Count} endpoints mapped");
        foreach (var (method, path) in mapped)
        {
            Assert.True(read.Document.Paths.TryGetValue(path, out var item), $"{path} is missing from the document");
            var operation = item!.Operations![HttpMethod.Parse(method)];
            var requirement = Assert.Single(operation.Security!);
            Assert.Equal(ManagementApi.SecuritySchemeId, Assert.Single(requirement.Keys).Reference.Id);
            Assert.Single(Assert.Single(requirement.Values));
        }

        Assert.All(read.Document.Paths.Keys, p => Assert.StartsWith(ManagementApi.Prefix, p));
    }

    [Fact]
    public async Task The_reference_page_is_served_without_a_sign_in()
    {
        using var http = new HttpClient(new HttpClientHandler { AllowAutoRedirect = true }) { BaseAddress = portal.BaseAddress };
        var html = await http.GetStringAsync(ManagementApi.ReferencePath);
        Assert.Contains("/openapi/v1.json", html);
    }

    private static string VersionOf(OpenApiSpecVersion version) => version switch
    {
        OpenApiSpecVersion.OpenApi3_0 => "3.0",
        OpenApiSpecVersion.OpenApi3_1 => "3.1",
        _ => version.ToString(),
    };

    [GeneratedRegex(@"\{([A-Za-z_]+):[^}]+\}")]
    private static partial Regex Constraint();
}
