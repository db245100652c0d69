using System.CommandLine;
using System.CommandLine.Parsing;

namespace Lanes.Portal.Admin;

/// <summary>How the operator commands are declared: their required options, and what they do against the database.</summary>
internal static class OperatorCommand
{
    /// <summary>
    /// Refuses the command before anything runs when one of <paramref name="options"/> is absent or blank, with the
    /// message scripts have always seen ("--name is required.").
    /// </summary>
    public static Command Requires(this Command command, params Option[] options)
    {
        command.Validators.Add(result =>
        {
            foreach (var option in options)
            {
                if (result.Lacks(option))
                {
                    result.AddError($"{option.Name} is required.");
                }
            }
        });
        return command;
    }

    /// <summary>Whether <paramref name="option"/> is absent, or given without a value or with a blank one.</summary>
    public static bool Lacks(this CommandResult result, Option option) =>
        result.GetResult(option) is not { } given || given.Tokens.All(t => string.IsNullOrWhiteSpace(t.Value));

    /// <summary>
    /// The command's work: it runs once its options have parsed, in a host started for it (<see cref="OperatorHost"/>),
    /// and what it returns is printed as the command's result.
    /// </summary>
    public static Command Runs(this Command command, Func<ParseResult, OperatorContext, Task<object>> run)
    {
        command.SetAction((parse, _) => OperatorHost.RunAsync(parse, run));
        return command;
    }

    /// <summary>
    /// A word that only groups commands ("key", "tenant"): on its own it is an unknown command, as it always was,
    /// rather than the parser's generic "Required command was not provided."
    /// </summary>
    public static Command Group(string name, string description, params Command[] subcommands)
    {
        var group = new Command(name, description);
        foreach (var subcommand in subcommands)
        {
            group.Subcommands.Add(subcommand);
        }

        group.SetAction(Unknown);
        return group;

        static int Unknown(ParseResult parse) => throw new CliUsageException($"unknown command '{CommandWords(parse)}'.");
    }

    /// <summary>The value of an option the command <see cref="Requires"/>; the parser has refused the command without it.</summary>
    public static string Required(this ParseResult parse, Option<string> option) =>
        parse.GetValue(option) is { } value && !string.IsNullOrWhiteSpace(value) ? value : throw new CliUsageException($"{option.Name} is required.");

    /// <inheritdoc cref="Required(ParseResult, Option{string})"/>
    public static T Required<T>(this ParseResult parse, Option<T?> option)
        where T : struct => parse.GetValue(option) ?? throw new CliUsageException($"{option.Name} is required.");

    private static string CommandWords(ParseResult parse) =>
        string.Join(' ', parse.Tokens.Where(t => t.Type == TokenType.Command).Select(t => t.Value));
}
