using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Lanes.Portal.Api;

/// <summary>
/// Reads query parameters totally. Endpoints take them as strings and read them here, so a value that does not parse
/// is an error naming its parameter (<c>errors</c> of a ValidationProblem) instead of binding's bare 400, and a value
/// that would break a query further down (a NUL in a model name, a time past DateTimeOffset's range) never gets there.
/// </summary>
public sealed class QueryParameters
{
    private readonly Dictionary<string, string[]> _errors = new(StringComparer.Ordinal);

    public bool Valid => _errors.Count == 0;

    /// <summary>An ISO 8601 time; without an offset it is UTC. Empty is absent.</summary>
    public DateTimeOffset? Time(string? text, string name)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time))
        {
            return time;
        }

        Refuse(name, "must be an ISO 8601 time such as 2026-01-31T00:00:00Z, within years 1 to 9999 in UTC.");
        return null;
    }

    public Guid? Id(string? text, string name)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (Guid.TryParse(text, out var id))
        {
            return id;
        }

        Refuse(name, "must be an id such as 0193a5d2-7c1e-7a4b-9f00-5e2d1c3b4a59.");
        return null;
    }

    public int? Integer(string? text, string name)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
        {
            return value;
        }

        Refuse(name, "must be a whole number.");
        return null;
    }

    /// <summary>Text up to <paramref name="maxLength"/> characters without control characters (PostgreSQL text holds no
    /// NUL), trimmed; empty is absent.</summary>
    public string? Text(string? text, string name, int maxLength)
    {
        var trimmed = text?.Trim();
        if (string.IsNullOrEmpty(trimmed))
        {
            return null;
        }

        if (trimmed.Length <= maxLength && !trimmed.Any(char.IsControl))
        {
            return trimmed;
        }

        Refuse(name, $"must be at most {maxLength} characters, without control characters.");
        return null;
    }

    public void Refuse(string name, string message) => _errors[name] = [$"{name} {message}"];

    public ValidationProblem Problem() =>
        TypedResults.ValidationProblem(_errors, title: $"Invalid query parameter{(_errors.Count > 1 ? "s" : "")}: {string.Join(", ", _errors.Keys)}.", type: "invalid_query");
}
