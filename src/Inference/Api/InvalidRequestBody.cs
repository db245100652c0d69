namespace Lanes.Inference.Api;

/// <summary>
/// A request body the parsers cannot take, naming the field. Note: the parsers walk nested JSON many calls deep, so a
/// fault is thrown from where it is found and turned into a 400 <see cref="ApiRefusal"/> once, where the body is read
/// (<see cref="OpenAiApi.ReadBodyAsync"/>); it never leaves the parsing.
/// </summary>
public sealed class InvalidRequestBody(string message, string? param = null, string code = "invalid_request") : Exception(message)
{
    public ApiRefusal ToRefusal() => ApiRefusal.InvalidRequest(Message, param, code);
}
