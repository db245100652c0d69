using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using Lanes.Shared.Windows;

namespace Lanes.Portal.Admin;

/// <summary>
/// The kinds of option the operator commands take, each "--name value". Every value option accepts zero or one
/// value, so "--name --json" reads as --name without a value followed by --json (as operators' scripts have always
/// been read), not as the name "--json". A value that does not parse is a usage error naming the expected form.
/// </summary>
internal static class CliOptions
{
    public delegate bool TryParse<T>(string text, out T value);

    /// <summary>Free text; without a value it is as if it were not given (a required one is refused by <see cref="OperatorCommand.Requires"/>).</summary>
    public static Option<string> Text(string name, string description) =>
        new(name) { Description = description, Arity = ArgumentArity.ZeroOrOne };

    /// <summary>A comma-separated list, such as --models a,b.</summary>
    public static Option<IReadOnlyList<string>> List(string name, string description) => new(name)
    {
        Description = description,
        Arity = ArgumentArity.ZeroOrOne,
        CustomParser = result => result.Tokens is [var token, ..]
            ? token.Value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : null,
    };

    public static Option<bool> Flag(string name, string description) => new(name) { Description = description };

    public static Option<int?> WholeNumber(string name, string description) =>
        Parsed<int>(name, description, (string text, out int n) => int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out n),
            $"{name} is a whole number.");

    public static Option<DateTimeOffset?> Instant(string name, string description) =>
        Parsed<DateTimeOffset>(name, description, TryParseInstant, $"{name} is an ISO 8601 time such as 2026-12-31T00:00:00Z.");

    public static Option<decimal?> Amount(string name, string description) =>
        Parsed<decimal>(name, description, (string text, out decimal amount) => decimal.TryParse(text, NumberStyles.Number, CultureInfo.InvariantCulture, out amount),
            $"{name} is an amount such as 5 or 2.50.");

    public static Option<TimeSpan?> WindowLength(string name, string description) =>
        Parsed<TimeSpan>(name, description, WindowSchedule.TryParseLength, $"{name} is a length such as 8h, 30m or 1d.");

    /// <summary>A value of type <typeparamref name="T"/>; null when the option is absent or has no value.</summary>
    public static Option<T?> Parsed<T>(string name, string description, TryParse<T> parse, string expected)
        where T : struct => new(name)
        {
            Description = description,
            Arity = ArgumentArity.ZeroOrOne,
            CustomParser = result => Parse(result, parse, expected),
        };

    private static T? Parse<T>(ArgumentResult result, TryParse<T> parse, string expected)
        where T : struct
    {
        if (result.Tokens is not [var token, ..])
        {
            return null;
        }

        if (parse(token.Value, out var value))
        {
            return value;
        }

        result.AddError(expected);
        return null;
    }

    private static bool TryParseInstant(string text, out DateTimeOffset at)
    {
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out at))
        {
            return false;
        }

        at = at.ToUniversalTime();
        return true;
    }
}
