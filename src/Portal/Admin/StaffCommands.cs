using System.CommandLine;
using Lanes.Portal.Identity;

namespace Lanes.Portal.Admin;

/// <summary><c>staff create</c> and <c>staff remove</c>: the accounts that may sign in to the staff pages.</summary>
internal static class StaffCommands
{
    public static Command Staff() => OperatorCommand.Group("staff", "Create and remove staff accounts.", Create(), Remove());

    private static Command Create()
    {
        var email = EmailOption();
        var stdin = CliSecrets.StandardInputFlag();
        return new Command("create", $"Create a staff account, or make an account staff; the password comes from {OperatorCli.PasswordVariable} or --password-stdin.")
            {
                email, stdin, CliSecrets.RefusedOnCommandLine("--password", OperatorCli.PasswordVariable),
            }
            .Requires(email)
            .Runs(async (parse, op) =>
            {
                var user = await StaffAccounts.EnsureAsync(op.Services, parse.Required(email), CliSecrets.Read(parse, stdin, OperatorCli.PasswordVariable));
                return new { user_id = user.Id, email = user.Email, role = Roles.Staff };
            });
    }

    private static Command Remove()
    {
        var email = EmailOption();
        return new Command("remove", "Take the staff role away and sign the account out everywhere.") { email }
            .Requires(email)
            .Runs(async (parse, op) =>
            {
                var user = await StaffAccounts.RemoveAsync(op.Services, parse.Required(email));
                return new { user_id = user.Id, email = user.Email, removed = Roles.Staff, sessions = "signed out everywhere" };
            });
    }

    private static Option<string> EmailOption() => CliOptions.Text("--email", "The account's email address.");
}
