using System.CommandLine;

namespace Lanes.Portal.Admin;

/// <summary>
/// What the database owner runs before the services start: <c>migrate</c> (every schema) and <c>db-roles</c> (the
/// least-privilege roles the portal, the gateway and the jobs connect as).
/// </summary>
internal static class DatabaseCommands
{
    public static Command Migrate() =>
        new Command("migrate", "Apply every schema, as the database owner.")
            .Runs(async (_, op) =>
            {
                await DatabaseSchemas.ApplyAsync(op.Services);
                return new { schemas = DatabaseSchemas.All, applied = true };
            });

    public static Command DbRoles()
    {
        // Read in this order, one line each with --password-stdin.
        (string Option, string Variable)[] passwords =
        [
            ("--portal-password", "LANES_DB_PORTAL_PASSWORD"),
            ("--gateway-password", "LANES_DB_GATEWAY_PASSWORD"),
            ("--jobs-password", "LANES_DB_JOBS_PASSWORD"),
        ];
        var stdin = CliSecrets.StandardInputFlag();
        var command = new Command("db-roles", "Create or update the least-privilege roles for portal, gateway and jobs; passwords from "
            + string.Join(", ", passwords.Select(p => p.Variable)) + " or --password-stdin.") { stdin };
        foreach (var (option, variable) in passwords)
        {
            command.Options.Add(CliSecrets.RefusedOnCommandLine(option, variable));
        }

        return command.Runs(async (parse, op) =>
        {
            var secrets = passwords.Select(p => CliSecrets.Read(parse, stdin, p.Variable)).ToList();
            var roles = DatabaseRoles.For(secrets[0], secrets[1], secrets[2]);
            await DatabaseRoles.ApplyAsync(op.Get<Npgsql.NpgsqlDataSource>(), roles);
            return roles.Select(r => new { role = r.Name, schemas = r.Schemas }).ToList();
        });
    }
}
