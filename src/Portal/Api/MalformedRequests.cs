using System.Text.Json;
using Lanes.Portal.Api.Auth;
using Microsoft.Net.Http.Headers;

namespace Lanes.Portal.Api;

/// <summary>
/// What the portal answers a request it cannot read. Minimal APIs throw on bad requests
/// (<see cref="RouteHandlerOptions.ThrowOnBadRequest"/>, set by <c>AddManagementApi</c>) so that the management API's
/// 400 can say which field is wrong: the JSON reader's path (<c>$.budget_usd</c>) becomes <c>errors.budget_usd</c>
/// of a ValidationProblem (the billing API's too). Everywhere else the status is kept and the body left empty, exactly as when binding
/// answered by itself. The token endpoint's form is read here before OpenIddict reads it, so a form that cannot be
/// decoded (a NUL, too many fields) is OAuth's <c>invalid_request</c> rather than a 500.
/// </summary>
public static class MalformedRequests
{
    public static IApplicationBuilder UseMalformedRequestProblems(this IApplicationBuilder app) => app.Use(async (http, next) =>
    {
        if (IsTokenForm(http) && await IsUnreadableFormAsync(http))
        {
            http.Response.StatusCode = StatusCodes.Status400BadRequest;
            await http.Response.WriteAsJsonAsync(new Dictionary<string, string>
            {
                ["error"] = "invalid_request",
                ["error_description"] = "The form body cannot be decoded: it holds a NUL or an invalid character, or too many or too long fields.",
            });
            return;
        }

        try
        {
            await next(http);
        }
        catch (BadHttpRequestException e) when (!http.Response.HasStarted)
        {
            http.Response.StatusCode = e.StatusCode;
            if (http.Request.Path.StartsWithSegments(ManagementApi.Prefix) || http.Request.Path.StartsWithSegments("/billing/api"))
            {
                await ProblemFor(e).ExecuteAsync(http);
            }
        }
    });

    private static IResult ProblemFor(BadHttpRequestException e)
    {
        if (e.InnerException is JsonException json)
        {
            return FieldOf(json.Path) is { } field
                ? TypedResults.ValidationProblem(
                    new Dictionary<string, string[]> { [field] = [$"{field} has the wrong type, or a value that cannot be read (such as a number out of range or text that is not valid Unicode)."] },
                    title: $"Invalid field in the request body: {field}.", type: "invalid_body")
                : TypedResults.Problem(statusCode: e.StatusCode, type: "invalid_body", title: "The request body is not a JSON object of the shape this endpoint takes.");
        }

        return TypedResults.Problem(statusCode: e.StatusCode, type: e.StatusCode == StatusCodes.Status415UnsupportedMediaType ? "unsupported_media_type" : "invalid_request",
            title: e.StatusCode == StatusCodes.Status415UnsupportedMediaType ? "Send the request body as JSON (Content-Type: application/json)." : "The request cannot be read.");
    }

    /// <summary><c>$.models[0]</c> → <c>models[0]</c>; the root (<c>$</c>) names no field.</summary>
    private static string? FieldOf(string? path) => path switch
    {
        null or "$" => null,
        _ when path.StartsWith("$.", StringComparison.Ordinal) => path[2..],
        _ => path.TrimStart('$'),
    };

    private static bool IsTokenForm(HttpContext http) =>
        HttpMethods.IsPost(http.Request.Method) && http.Request.Path.StartsWithSegments(TokenEndpoint.Path)
        && MediaTypeHeaderValue.TryParse(http.Request.ContentType, out var type)
        && type.MediaType.Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    /// <summary>Reads the form (ASP.NET keeps it for OpenIddict); false when it reads.</summary>
    private static async Task<bool> IsUnreadableFormAsync(HttpContext http)
    {
        try
        {
            await http.Request.ReadFormAsync(http.RequestAborted);
            return false;
        }
        catch (InvalidDataException)
        {
            return true;
        }
    }
}
