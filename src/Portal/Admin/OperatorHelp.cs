using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Invocation;

namespace Lanes.Portal.Admin;

/// <summary>
/// The overview operators read (<c>./lanes admin</c>, <c>help</c>, <c>--help</c>, and after a usage error): every
/// command on one line. <c>--help</c> after a command prints that command's options, generated from its declaration.
/// </summary>
internal static class OperatorHelp
{
    public const string Text = """
        ./lanes admin <command> [--json]

          capacity                                (the ledger: sellable, sold, live, unplaced, planned, gateways)
          capacity plan [--pool <id>] --slots <n> [--from <iso>] --reason <text>   (a model pool's slots from then on; 0 withdraws)
          tenant create --slug <slug> --name <name> --plan <tier>
          tenant list
          plan assign --tenant <slug> --plan <tier> [--lanes <n> [--until <iso>] --reason <text> [--staff <id>]]
          reservation set --tenant <slug> --lanes <n> [--until <iso>] --reason <text> [--staff <id>]
          key create --tenant <slug> --name <name> [--budget-usd <amount>] [--window 8h] [--expires <iso>] [--models a,b]
          key revoke --key <id-or-prefix>
          key list --tenant <slug>
          staff create --email <email>            (password from LANES_ADMIN_PASSWORD or --password-stdin)
          staff remove --email <email>            (signs them out everywhere)
          client create --tenant <slug> --name <name> [--scopes keys:read,keys:write,usage:read,billing:read] [--expires <iso>]
          client revoke --tenant <slug> --client <client-id>
          auth-keys rotate
          migrate                                 (apply every schema, as the database owner)
          db-roles                                (least-privilege roles for portal, gateway, jobs; passwords from
                                                   LANES_DB_PORTAL_PASSWORD, LANES_DB_GATEWAY_PASSWORD, LANES_DB_JOBS_PASSWORD)
          demo seed --admin-email <email> [--new-key]   (password from LANES_ADMIN_PASSWORD or --password-stdin)

        """;

    public static int Print()
    {
        Console.Out.Write(Text);
        return 0;
    }

    /// <summary><c>help</c>: the overview, whatever words follow it.</summary>
    public static Command AsCommand()
    {
        var help = new Command("help", "List the commands.") { TreatUnmatchedTokensAsErrors = false };
        help.SetAction(_ => Print());
        return help;
    }

    /// <summary><c>--help</c> (and <c>-h</c>, <c>-?</c>): the overview on <paramref name="root"/>, a command's own help after it.</summary>
    public static HelpOption AsOption(Command root)
    {
        var option = new HelpOption();
        option.Action = new OverviewOnRoot(root, (HelpAction)option.Action!);
        return option;
    }

    private sealed class OverviewOnRoot(Command root, HelpAction generated) : SynchronousCommandLineAction
    {
        // Like the generated help, --help wins over a command's missing or malformed options.
        public override bool ClearsParseErrors => true;

        public override int Invoke(ParseResult parseResult) =>
            parseResult.CommandResult.Command == root ? Print() : generated.Invoke(parseResult);
    }
}
