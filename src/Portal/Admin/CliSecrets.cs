using System.CommandLine;

namespace Lanes.Portal.Admin;

/// <summary>
/// Passwords come from an environment variable or, with <c>--password-stdin</c>, from standard input; never from the
/// command line, which every user of the machine can read (<c>ps</c>, /proc).
/// </summary>
internal static class CliSecrets
{
    /// <summary>Reads one line of standard input per password the command needs, in the order it asks for them.</summary>
    public static Option<bool> StandardInputFlag() =>
        CliOptions.Flag("--password-stdin", "Read the password from standard input (one line per password) instead of its environment variable.");

    /// <summary>
    /// An option that exists only to be refused: "--password x" would otherwise be an unknown option, and the operator
    /// would not learn where the password belongs. Hidden from help.
    /// </summary>
    public static Option<string> RefusedOnCommandLine(string name, string environmentVariable)
    {
        var option = new Option<string>(name) { Hidden = true, Arity = ArgumentArity.ZeroOrOne };
        option.Validators.Add(result => result.AddError(
            $"{name} on the command line is visible to every user of this machine; pass it in {environmentVariable} or on standard input with --password-stdin."));
        return option;
    }

    public static string Read(ParseResult parse, Option<bool> standardInput, string environmentVariable)
    {
        var secret = parse.GetValue(standardInput) ? Console.In.ReadLine() : Environment.GetEnvironmentVariable(environmentVariable);
        return string.IsNullOrWhiteSpace(secret)
            ? throw new CliUsageException($"a password is required: set {environmentVariable} or pass --password-stdin and write it to standard input.")
            : secret;
    }
}
