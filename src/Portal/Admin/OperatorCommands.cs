using System.CommandLine;

namespace Lanes.Portal.Admin;

/// <summary>Every <c>./lanes admin</c> command, declared with its options (the overview is <see cref="OperatorHelp.Text"/>).</summary>
internal static class OperatorCommands
{
    public static Command Root()
    {
        // A plain command named for how operators call it, not a RootCommand: generated help reads
        // "admin key create", and there is no --version or [directive] syntax, which the CLI never had.
        var root = new Command("admin", "Operator commands against the portal's database.");
        root.Options.Add(OperatorHelp.AsOption(root));
        root.Options.Add(OperatorOutput.Json);
        Command[] commands =
        [
            CapacityCommands.Capacity(),
            TenantCommands.Tenant(),
            SubscriptionCommands.Plan(),
            SubscriptionCommands.Reservation(),
            KeyCommands.Key(),
            StaffCommands.Staff(),
            ManagementApiCommands.Client(),
            ManagementApiCommands.AuthKeys(),
            DatabaseCommands.Migrate(),
            DatabaseCommands.DbRoles(),
            DemoCommands.Demo(),
            OperatorHelp.AsCommand(),
        ];
        foreach (var command in commands)
        {
            root.Subcommands.Add(command);
        }

        // No command at all: the overview, as ./lanes admin has always answered.
        root.SetAction(_ => OperatorHelp.Print());
        return root;
    }
}
