using System.Text.Json.Serialization;

namespace Lanes.Inference.Api;

/// <summary>A refusal in OpenAI's shape: <c>{"error":{"message","type","param","code"}}</c>, with its HTTP status.</summary>
public sealed class ApiError(int status, string type, string code, string message, string? param = null, TimeSpan? retryAfter = null)
    : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string Code { get; } = code;
    public string? Param { get; } = param;
    public TimeSpan? RetryAfter { get; } = retryAfter;

    public ErrorBody ToBody() => new(new ErrorDetail(Message, Type, Param, Code));

    public static ApiError InvalidRequest(string message, string? param = null, string code = "invalid_request") =>
        new(400, "invalid_request_error", code, message, param);

    public static ApiError Unauthorized(string code, string message) => new(401, "authentication_error", code, message);

    public static ApiError Forbidden(string code, string message, string? param = null) => new(403, "permission_error", code, message, param);

    public static ApiError NotFound(string code, string message, string? param = null) => new(404, "invalid_request_error", code, message, param);

    /// <summary>What every door answers when the engine could not serve: the request was impossible as written (400),
    /// or the engine failed (502). Nothing was served, so nothing is charged.</summary>
    public static ApiError FromEngine(Exception failure) => failure switch
    {
        Engine.EngineRequestInvalid invalid => InvalidRequest(invalid.Message, invalid.Param, invalid.Code),
        _ => new ApiError(502, "server_error", "upstream_error", failure.Message),
    };

    public static ApiError TooMany(string code, string message, TimeSpan retryAfter) => new(429, "rate_limit_error", code, message, null, retryAfter);
}

public sealed record ErrorBody([property: JsonPropertyName("error")] ErrorDetail Error);

public sealed record ErrorDetail(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("type")] string Type,
    [property: JsonPropertyName("param")] string? Param,
    [property: JsonPropertyName("code")] string Code);
