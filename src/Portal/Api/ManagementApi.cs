using Lanes.Portal.Api.Auth;
using Lanes.Portal.Api.Idempotency;
using Lanes.Portal.Api.Keys;
using Lanes.Portal.Api.Subscriptions;
using Lanes.Portal.Api.Usage;
using Microsoft.OpenApi;

namespace Lanes.Portal.Api;

/// <summary>Says which scope an endpoint needs (for the OpenAPI document; the policy enforces it).</summary>
public sealed record RequiredScope(string Scope);

/// <summary>
/// The management API: machine access to a tenant's keys, usage and subscription with OAuth2 client credentials.
/// Clients are created by owners and admins on the portal's "API clients" page; every call is scoped to the tenant
/// of the token's client.
/// </summary>
public static class ManagementApi
{
    public const string Prefix = "/api/v1";
    public const string DocumentName = "v1";
    public const string SecuritySchemeId = "lanes_oauth2";
    public const string ReferencePath = "/api/reference";

    public static IHostApplicationBuilder AddManagementApi(this IHostApplicationBuilder builder)
    {
        builder.AddManagementAuth();
        builder.Services.AddSingleton<IdempotencyFilter>();
        builder.Services.AddSingleton<IdempotencyPruner>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<IdempotencyPruner>());
        // Binding failures throw so that MalformedRequests can name the field of a malformed body in a 400 ProblemDetails
        // (instead of a bare 400, or the developer exception page that throwing alone would give).
        builder.Services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        builder.Services.AddProblemDetails();
        builder.Services.AddOpenApi(DocumentName, o =>
        {
            o.ShouldInclude = d => d.RelativePath?.StartsWith(Prefix[1..], StringComparison.Ordinal) == true;
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo
                {
                    Title = "Lanes management API",
                    Version = "v1",
                    Description = "Manage a tenant's API keys, read its usage and subscription. Authenticate with OAuth2 client " +
                                  $"credentials: POST {TokenEndpoint.Path} (grant_type=client_credentials) with a management client's id and " +
                                  "secret from the portal's API clients page, then send 'Authorization: Bearer <access_token>'. Errors are " +
                                  "RFC 9457 ProblemDetails. Writes accept an Idempotency-Key header.",
                };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[SecuritySchemeId] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.OAuth2,
                    Description = "OAuth2 client credentials; tokens live 10 minutes.",
                    Flows = new OpenApiOAuthFlows
                    {
                        ClientCredentials = new OpenApiOAuthFlow
                        {
                            TokenUrl = new Uri(TokenEndpoint.Path, UriKind.Relative),
                            Scopes = ManagementScopes.Descriptions.ToDictionary(),
                        },
                    },
                };
                return Task.CompletedTask;
            });
            o.AddOperationTransformer((operation, context, _) =>
            {
                var metadata = context.Description.ActionDescriptor.EndpointMetadata;
                if (metadata.OfType<RequiredScope>().FirstOrDefault() is { } required)
                {
                    operation.Security ??= [];
                    operation.Security.Add(new OpenApiSecurityRequirement
                    {
                        [new OpenApiSecuritySchemeReference(SecuritySchemeId, context.Document)] = [required.Scope],
                    });
                    operation.Responses ??= new OpenApiResponses();
                    operation.Responses.TryAdd("401", new OpenApiResponse { Description = "No valid token, or the token's client is revoked or expired." });
                    operation.Responses.TryAdd("403", new OpenApiResponse { Description = $"The token lacks the '{required.Scope}' scope." });
                }

                if (metadata.OfType<IdempotentWrite>().Any())
                {
                    operation.Parameters ??= [];
                    operation.Parameters.Add(new OpenApiParameter
                    {
                        Name = IdempotencyFilter.Header,
                        In = ParameterLocation.Header,
                        Required = false,
                        Description = "Any unique string (a UUID): a retry with the same key and body returns the first response " +
                                      "instead of acting twice; the same key with another body is 422.",
                        Schema = new OpenApiSchema { Type = JsonSchemaType.String, MaxLength = IdempotencyFilter.MaxKeyLength },
                    });
                    operation.Responses ??= new OpenApiResponses();
                    operation.Responses.TryAdd("409", new OpenApiResponse { Description = "A conflict with the current state, or a request with this Idempotency-Key is still running." });
                    operation.Responses.TryAdd("422", new OpenApiResponse { Description = "The Idempotency-Key was used for a different request." });
                }

                return Task.CompletedTask;
            });
        });
        return builder;
    }

    /// <summary>Requests that cannot be read answer 4xx (naming the field on the API), and the APIs' bare status codes
    /// (an unknown route, a missing token, a body that is not JSON) get ProblemDetails bodies too: the management API's
    /// and the billing API's.</summary>
    public static IApplicationBuilder UseManagementApiProblems(this IApplicationBuilder app) =>
        app.UseMalformedRequestProblems().UseWhen(
            http => http.Request.Path.StartsWithSegments(Prefix) || http.Request.Path.StartsWithSegments("/billing/api"),
            api => api.UseStatusCodePages());

    public static IEndpointRouteBuilder MapManagementApi(this IEndpointRouteBuilder app)
    {
        app.MapTokenEndpoint();
        var api = app.MapGroup(Prefix).AddEndpointFilter(ApiProblems.Filter)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        api.MapKeysApi();
        api.MapUsageApi();
        api.MapSubscriptionApi();
        api.MapBillingDetailsApi();
        api.MapInvoicesApi();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapGet(ReferencePath, () => Results.Redirect("/api-reference.html")).ExcludeFromDescription();
        return app;
    }

    public static RouteHandlerBuilder RequireScope(this RouteHandlerBuilder endpoint, string scope) =>
        endpoint.RequireAuthorization(ManagementAuthExtensions.PolicyFor(scope)).WithMetadata(new RequiredScope(scope));

    public static RouteHandlerBuilder Idempotent(this RouteHandlerBuilder endpoint) =>
        endpoint.AddEndpointFilter<IdempotencyFilter>().WithMetadata(new IdempotentWrite());
}
