using Lanes.Billing;

namespace Lanes.Portal.Api;

/// <summary>Business refusals as ProblemDetails: a rule broken by the request is 400, a conflict with the current
/// state 409, something the tenant does not have 404. <c>type</c> carries the rule's stable code.</summary>
public static class ApiProblems
{
    private static readonly HashSet<string> Conflicts =
        ["key_revoked", "subscription_inactive", "capacity_exceeded", "already_subscribed", "trials_full", "payment_processing"];

    public static bool TryFrom(Exception exception, out IResult problem)
    {
        problem = exception switch
        {
            NotFound e => Results.Problem(statusCode: StatusCodes.Status404NotFound, title: e.Message, type: "not_found"),
            RuleViolation e => Results.Problem(statusCode: StatusOf(e.Code), title: e.Message, type: e.Code),
            _ => null!,
        };
        return problem is not null;
    }

    private static int StatusOf(string code) => code switch
    {
        _ when Conflicts.Contains(code) => StatusCodes.Status409Conflict,
        "staff_assigns_plans" => StatusCodes.Status403Forbidden,
        "card_declined" => StatusCodes.Status402PaymentRequired,
        "payment_provider" => StatusCodes.Status502BadGateway,
        _ => StatusCodes.Status400BadRequest,
    };

    public static IResult Invalid(string code, string message) =>
        Results.Problem(statusCode: StatusCodes.Status400BadRequest, title: message, type: code);

    /// <summary>Maps business exceptions of every management endpoint to ProblemDetails.</summary>
    public static async ValueTask<object?> Filter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        try
        {
            return await next(context);
        }
        catch (Exception e) when (TryFrom(e, out var problem))
        {
            return problem;
        }
    }
}

/// <summary>One page of a list: <c>next_cursor</c> is opaque and present while <c>has_more</c>.</summary>
public sealed record Page<T>(
    [property: System.Text.Json.Serialization.JsonPropertyName("data")] IReadOnlyList<T> Data,
    [property: System.Text.Json.Serialization.JsonPropertyName("has_more")] bool HasMore,
    [property: System.Text.Json.Serialization.JsonPropertyName("next_cursor")] string? NextCursor);

/// <summary>Offset cursors: lists are ordered newest first and short (a tenant's keys), so an offset is stable enough
/// and keeps the cursor opaque for a later switch to keyset paging.</summary>
public static class Paging
{
    public const int DefaultLimit = 50;
    public const int MaxLimit = 100;

    public static bool TryRead(int? limit, string? cursor, out int take, out int skip)
    {
        take = limit ?? DefaultLimit;
        skip = 0;
        if (take is < 1 or > MaxLimit)
        {
            return false;
        }

        if (string.IsNullOrEmpty(cursor))
        {
            return true;
        }

        try
        {
            var text = System.Text.Encoding.ASCII.GetString(Convert.FromBase64String(cursor));
            return text.StartsWith("o:", StringComparison.Ordinal) && int.TryParse(text[2..], out skip) && skip >= 0;
        }
        catch (FormatException)
        {
            return false;
        }
    }

    public static string CursorAt(int offset) => Convert.ToBase64String(System.Text.Encoding.ASCII.GetBytes($"o:{offset}"));
}
