using Lanes.Billing.Infrastructure;
using Lanes.Portal.Identity;
using Npgsql;

namespace Lanes.Portal.Admin;

/// <summary>A login role a process connects as, and the schemas it may read and write.</summary>
public sealed record DatabaseRole(string Name, string Password, IReadOnlyList<string> Schemas);

/// <summary>
/// Least-privilege database roles, one per process kind, created by the schema owner after it has applied the
/// schemas. Note: none of them may create, alter or drop anything; the gateway (which faces the internet with every
/// API key) cannot read users, password hashes, the key ring, management clients or jobs at all.
/// </summary>
public static class DatabaseRoles
{
    public const string HangfireSchema = "hangfire";

    /// <summary>The roles and what each needs: the portal and the jobs host the identity store and the job queue;
    /// the gateway only billing's store (keys, subscriptions, usage, leases).</summary>
    public static IReadOnlyList<DatabaseRole> For(string portalPassword, string gatewayPassword, string jobsPassword, string prefix = "lanes") =>
    [
        new($"{prefix}_portal", portalPassword, [BillingStore.Schema, IdentityStore.Schema, HangfireSchema]),
        new($"{prefix}_gateway", gatewayPassword, [BillingStore.Schema]),
        new($"{prefix}_jobs", jobsPassword, [BillingStore.Schema, IdentityStore.Schema, HangfireSchema]),
    ];

    /// <summary>Creates each role or resets its password, and grants exactly its schemas (idempotent). Runs as the
    /// owner of the schemas, so that the default privileges also cover tables the owner creates later.</summary>
    public static async Task ApplyAsync(NpgsqlDataSource owner, IEnumerable<DatabaseRole> roles, CancellationToken ct = default)
    {
        await using var connection = await owner.OpenConnectionAsync(ct);
        var database = connection.Database;
        foreach (var role in roles)
        {
            var name = Quote(role.Name);
            await ExecuteAsync(connection, $"""
                DO $$ BEGIN
                  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {Literal(role.Name)}) THEN
                    CREATE ROLE {name} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT;
                  END IF;
                END $$;
                ALTER ROLE {name} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT PASSWORD {Literal(role.Password)};
                GRANT CONNECT ON DATABASE {Quote(database)} TO {name};
                REVOKE CREATE ON SCHEMA public FROM {name};
                """, ct);
            foreach (var schema in new[] { BillingStore.Schema, IdentityStore.Schema, HangfireSchema })
            {
                var s = Quote(schema);
                var statements = role.Schemas.Contains(schema)
                    ? $"""
                      GRANT USAGE ON SCHEMA {s} TO {name};
                      GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {s} TO {name};
                      GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA {s} TO {name};
                      GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA {s} TO {name};
                      ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {name};
                      ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {name};
                      ALTER DEFAULT PRIVILEGES IN SCHEMA {s} GRANT EXECUTE ON FUNCTIONS TO {name};
                      """
                    : $"""
                      REVOKE ALL ON ALL TABLES IN SCHEMA {s} FROM {name};
                      REVOKE ALL ON SCHEMA {s} FROM {name};
                      """;
                await ExecuteAsync(connection, $"""
                    DO $$ BEGIN
                      IF EXISTS (SELECT FROM pg_namespace WHERE nspname = {Literal(schema)}) THEN
                        EXECUTE {Literal(statements)};
                      END IF;
                    END $$;
                    """, ct);
            }
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static string Literal(string text) => "'" + text.Replace("'", "''", StringComparison.Ordinal) + "'";
}
