using System.CommandLine;
using Lanes.Billing;

namespace Lanes.Portal.Admin;

/// <summary>
/// <c>./lanes admin ...</c>: what operators script against, on the same database as the portal. The commands are
/// declared in <see cref="OperatorCommands"/> and parsed by System.CommandLine; this is where outcomes become exit
/// codes: 0 done, 1 refused (a rule or something not found), 2 a usage error, each error on stderr (as JSON with
/// <c>--json</c>), stdout then empty.
/// </summary>
public static class OperatorCli
{
    /// <summary>Where staff passwords come from (never the command line).</summary>
    public const string PasswordVariable = "LANES_ADMIN_PASSWORD";

    // Response files are off: a value starting with @ ("--reason @alice asked") is a value, not a file of arguments.
    private static readonly ParserConfiguration Parsing = new() { ResponseFileTokenReplacer = null };

    // Exceptions reach the catches below (anything else stays unhandled, as before), and Ctrl+C is left to the
    // process: the parser neither prints exceptions itself nor claims the signal.
    private static readonly InvocationConfiguration Invocation = new() { EnableDefaultExceptionHandler = false, ProcessTerminationTimeout = null };

    public static async Task<int> RunAsync(string[] args)
    {
        var parse = OperatorCommands.Root().Parse(args, Parsing);
        var json = OperatorOutput.WantsJson(parse);
        if (parse.Errors.Count > 0)
        {
            // Unknown words and options, missing or malformed values: refused before a host starts or anything is read.
            return await UsageAsync(json, parse.Errors.Select(e => e.Message).Distinct().ToList());
        }

        try
        {
            return await parse.InvokeAsync(Invocation);
        }
        catch (CliUsageException e)
        {
            return await UsageAsync(json, [e.Message]);
        }
        catch (RuleViolation e)
        {
            await OperatorOutput.ErrorAsync(json, e.Code, e.Message, $"error ({e.Code}): {e.Message}");
            return 1;
        }
        catch (NotFound e)
        {
            await OperatorOutput.ErrorAsync(json, "not_found", e.Message, $"error (not_found): {e.Message}");
            return 1;
        }
    }

    /// <summary>Exit 2: what was wrong, then (as text) the overview of the commands.</summary>
    private static async Task<int> UsageAsync(bool json, IReadOnlyList<string> problems)
    {
        await OperatorOutput.ErrorAsync(json, "usage", string.Join(' ', problems),
            string.Concat(problems.Select(p => $"error: {p}\n")) + $"\n{OperatorHelp.Text}");
        return 2;
    }
}
