using System.CommandLine;

namespace Lanes.Portal.Admin;

/// <summary><c>demo seed</c>: what <c>./lanes up</c> runs to have a staff admin, a demo tenant and a key (<see cref="DemoSeed"/>).</summary>
internal static class DemoCommands
{
    public static Command Demo() => OperatorCommand.Group("demo", "The demo ./lanes up runs.", Seed());

    private static Command Seed()
    {
        var adminEmail = CliOptions.Text("--admin-email", "The staff admin's email address.");
        var newKey = CliOptions.Flag("--new-key", "Replace the demo key (its secret is printed once).");
        var stdin = CliSecrets.StandardInputFlag();
        return new Command("seed", $"Seed the demo; the admin's password comes from {OperatorCli.PasswordVariable} or --password-stdin.")
            {
                adminEmail, newKey, stdin, CliSecrets.RefusedOnCommandLine("--admin-password", OperatorCli.PasswordVariable),
            }
            .Requires(adminEmail)
            .Runs((parse, op) => DemoSeed.RunAsync(op.Services, parse.Required(adminEmail),
                CliSecrets.Read(parse, stdin, OperatorCli.PasswordVariable), parse.GetValue(newKey), op.By));
    }
}
