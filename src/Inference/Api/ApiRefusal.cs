using System.Text.Json.Serialization;

namespace Lanes.Inference.Api;

/// <summary>A refusal in OpenAI's shape: <c>{"error":{"message","type","param","code"}}</c>, with its HTTP status.
/// A value, not an exception: admission returns it (<see cref="Refusable{T}"/>) and the door writes it in its own
/// shape, so a flood of refused requests costs no stack unwinding.</summary>
public sealed record ApiRefusal(int Status, string Type, string Code, string Message, string? Param = null, TimeSpan? RetryAfter = null)
{
    public ErrorBody ToBody() => new(new ErrorDetail(Message, Type, Param, Code));

    public static ApiRefusal InvalidRequest(string message, string? param = null, string code = "invalid_request") =>
        new(400, "invalid_request_error", code, message, param);

    public static ApiRefusal Unauthorized(string code, string message) => new(401, "authentication_error", code, message);

    public static ApiRefusal Forbidden(string code, string message, string? param = null) => new(403, "permission_error", code, message, param);

    public static ApiRefusal NotFound(string code, string message, string? param = null) => new(404, "invalid_request_error", code, message, param);

    public static ApiRefusal TooLarge(string message) => new(413, "invalid_request_error", "request_too_large", message);

    public static ApiRefusal TooMany(string code, string message, TimeSpan retryAfter) => new(429, "rate_limit_error", code, message, null, retryAfter);

    public static ApiRefusal Unavailable(string code, string message) => new(503, "server_error", code, message, RetryAfter: TimeSpan.FromSeconds(1));

    /// <summary>What every door answers when the engine could not serve: the request was impossible as written (400),
    /// or the engine failed (502). Nothing was served, so nothing is charged.</summary>
    public static ApiRefusal FromEngine(Exception failure) => failure switch
    {
        Engine.EngineRequestInvalid invalid => InvalidRequest(invalid.Message, invalid.Param, invalid.Code),
        _ => new ApiRefusal(502, "server_error", "upstream_error", failure.Message),
    };
}

public sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error);

public sealed record ErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string Code);
