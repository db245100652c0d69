using System.Diagnostics;
using System.Text.Json;
using Lanes.Testing;

namespace Lanes.Portal.Tests.Admin;

/// <summary>The operator CLI as operators run it: a separate process against the database, parsed by its output.</summary>
public class OperatorCliTests(PostgresDatabase database) : IClassFixture<PostgresDatabase>
{
    private readonly string _pepper = BillingHost.NewPepper();
    // One per database: the key ring the first command stores is read by every later one.
    private static readonly string KeyRingKey = BillingHost.NewPepper();

    [Fact]
    public async Task Operators_create_a_tenant_issue_a_key_list_and_revoke_it()
    {
        var created = await Run(0, "tenant", "create", "--slug", "acme", "--name", "Acme Corp", "--plan", "pro", "--json");
        Assert.Equal("pro", created.GetProperty("plan").GetString());
        Assert.Equal(6, created.GetProperty("reserved_lanes").GetInt32());

        var key = await Run(0, "key", "create", "--tenant", "acme", "--name", "ci", "--budget-usd", "2.50", "--window", "4h", "--json");
        var secret = key.GetProperty("secret").GetString()!;
        Assert.StartsWith("lanes_", secret);
        Assert.Equal(2.50m, key.GetProperty("budget_usd").GetDecimal());
        Assert.Equal("4h", key.GetProperty("window").GetString());

        var listed = await Run(0, "key", "list", "--tenant", "acme", "--json");
        var only = Assert.Single(listed.EnumerateArray());
        Assert.Equal(JsonValueKind.Null, only.GetProperty("secret").ValueKind);
        Assert.DoesNotContain(secret, listed.GetRawText());

        var revoked = await Run(0, "key", "revoke", "--key", key.GetProperty("prefix").GetString()!, "--json");
        Assert.Equal("revoked", revoked.GetProperty("state").GetString());

        var reserved = await Run(0, "reservation", "set", "--tenant", "acme", "--lanes", "10", "--until", "2030-01-01T00:00:00Z", "--reason", "launch", "--json");
        Assert.Equal(10, reserved.GetProperty("reserved_lanes").GetInt32());
    }

    [Fact]
    public async Task Refusals_go_to_stderr_with_a_non_zero_exit()
    {
        var (code, stdout, stderr) = await Exec("tenant", "create", "--slug", "bad slug", "--name", "X", "--plan", "pro");

        Assert.Equal(1, code);
        Assert.Contains("invalid_slug", stderr);
        Assert.Equal("", stdout.Trim());

        (code, _, stderr) = await Exec("plan", "assign", "--tenant", "nobody", "--plan", "pro");
        Assert.Equal(1, code);
        Assert.Contains("not_found", stderr);

        (code, _, stderr) = await Exec("key", "create", "--tenant", "nobody");
        Assert.Equal(2, code);
        Assert.Contains("--name is required", stderr);
    }

    [Fact]
    public async Task A_refused_tenant_create_leaves_no_trace_and_says_why_in_one_line_or_as_json()
    {
        await Run(0, "tenant", "create", "--slug", "taken", "--name", "First", "--plan", "starter", "--json");
        var before = await TraceAsync();
        _environment["Capacity__TotalLanes"] = "16";
        _environment["Capacity__TrialLanes"] = "0";

        var duplicate = await Exec("tenant", "create", "--slug", "taken", "--name", "Second", "--plan", "starter");
        var unknownPlan = await Exec("tenant", "create", "--slug", "fresh-one", "--name", "Fresh", "--plan", "platinum");
        var noCapacity = await Exec("tenant", "create", "--slug", "fresh-two", "--name", "Fresh", "--plan", "enterprise", "--json");

        Assert.Equal((1, "error (slug_taken): The slug 'taken' is already taken."), (duplicate.Code, duplicate.Stderr.Trim()));
        Assert.Equal(1, unknownPlan.Code);
        Assert.StartsWith("error (unknown_plan):", unknownPlan.Stderr.Trim());
        Assert.Single(unknownPlan.Stderr.Trim().Split('\n'));
        Assert.Equal(1, noCapacity.Code);
        Assert.Equal("capacity_exceeded", JsonDocument.Parse(noCapacity.Stderr).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.All(new[] { duplicate, unknownPlan, noCapacity }, r => Assert.Equal("", r.Stdout.Trim()));

        // Nothing of the refused commands is left: no tenant, no event, no row anywhere in the schemas.
        Assert.Equal(before, await TraceAsync());
        var tenants = await Run(0, "tenant", "list", "--json");
        Assert.DoesNotContain(tenants.EnumerateArray(), t => t.GetProperty("slug").GetString()!.StartsWith("fresh", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_plan_assigned_with_an_override_happens_whole_or_not_at_all()
    {
        await Run(0, "tenant", "create", "--slug", "assign-both", "--name", "Both", "--plan", "starter", "--json");
        var before = await TraceAsync();

        // More lanes than the cluster has: neither the plan change nor the override is written.
        var refused = await Exec("plan", "assign", "--tenant", "assign-both", "--plan", "pro", "--lanes", "100000", "--reason", "launch week", "--json");
        Assert.Equal(1, refused.Code);
        Assert.Equal("capacity_exceeded", JsonDocument.Parse(refused.Stderr).RootElement.GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(before, await TraceAsync());
        var unchanged = Assert.Single((await Run(0, "tenant", "list", "--json")).EnumerateArray(), t => t.GetProperty("slug").GetString() == "assign-both");

        var both = await Run(0, "plan", "assign", "--tenant", "assign-both", "--plan", "pro", "--lanes", "10", "--until", "2030-01-01T00:00:00Z", "--reason", "launch week", "--json");
        Assert.Equal(("pro", 6, 10), (both.GetProperty("plan").GetString(), both.GetProperty("plan_lanes").GetInt32(), both.GetProperty("reserved_lanes").GetInt32()));
        Assert.Equal("launch week", both.GetProperty("override").GetProperty("reason").GetString());
        Assert.NotEqual(Guid.Empty, unchanged.GetProperty("tenant_id").GetGuid());
    }

    /// <summary>Rows in the event store, the tenant directory and the Identity users: what a half-done command leaves.</summary>
    private async Task<(long Events, long Tenants, long Users)> TraceAsync()
    {
        await using var connection = new Npgsql.NpgsqlConnection(database.ConnectionString);
        await connection.OpenAsync();
        async Task<long> CountAsync(string sql)
        {
            await using var command = new Npgsql.NpgsqlCommand(sql, connection);
            return (long)(await command.ExecuteScalarAsync())!;
        }

        return (await CountAsync("select count(*) from lanes.mt_events"), await CountAsync("select count(*) from lanes.mt_doc_tenantdirectoryentry"),
            await CountAsync("select count(*) from identity.\"AspNetUsers\""));
    }

    [Fact]
    public async Task A_staff_password_is_never_taken_from_the_command_line()
    {
        var email = $"staff-{Guid.NewGuid():N}@lanes.test";
        var (code, stdout, stderr) = await Exec("staff", "create", "--email", email, "--password", "Visible-To-Ps-1");
        Assert.Equal(2, code);
        Assert.Contains("visible to every user", stderr);
        Assert.Equal("", stdout.Trim());

        _environment["LANES_ADMIN_PASSWORD"] = "Hidden-From-Ps-1";
        var created = await Run(0, "staff", "create", "--email", email, "--json");
        Assert.Equal(email, created.GetProperty("email").GetString());

        var removed = await Run(0, "staff", "remove", "--email", email, "--json");
        Assert.Equal("staff", removed.GetProperty("removed").GetString());
    }

    [Fact]
    public async Task Operators_create_and_revoke_management_clients_and_rotate_the_token_keys()
    {
        await Run(0, "tenant", "create", "--slug", "mgmt", "--name", "Mgmt Corp", "--plan", "pro", "--json");
        var client = await Run(0, "client", "create", "--tenant", "mgmt", "--name", "ci", "--scopes", "keys:read,keys:write", "--json");
        Assert.StartsWith("lanes_mc_", client.GetProperty("client_id").GetString());
        Assert.StartsWith("lmcs_", client.GetProperty("client_secret").GetString());
        Assert.Equal(["keys:read", "keys:write"], client.GetProperty("scopes").EnumerateArray().Select(s => s.GetString()));

        var revoked = await Run(0, "client", "revoke", "--tenant", "mgmt", "--client", client.GetProperty("client_id").GetString()!, "--json");
        Assert.Equal(JsonValueKind.String, revoked.GetProperty("revoked_at").ValueKind);

        var folder = Directory.CreateTempSubdirectory("lanes-keys-").FullName;
        try
        {
            _environment["ManagementApi__KeysPath"] = folder;
            for (var i = 0; i < 3; i++)
            {
                Assert.Equal(2, (await Run(0, "auth-keys", "rotate", "--json")).GetProperty("written").GetArrayLength());
            }

            // The newest pair signs; one previous pair still validates tokens issued before the rotation.
            Assert.Equal(2, Directory.GetFiles(folder, "signing-*.pem").Length);
            Assert.Equal(2, Directory.GetFiles(folder, "encryption-*.pem").Length);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private readonly Dictionary<string, string> _environment = [];

    private async Task<JsonElement> Run(int expectedExit, params string[] args)
    {
        var (code, stdout, stderr) = await Exec(args);
        Assert.True(code == expectedExit, $"exit {code}: {stderr}");
        return JsonDocument.Parse(stdout).RootElement.Clone();
    }

    private async Task<(int Code, string Stdout, string Stderr)> Exec(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(typeof(Program).Assembly.Location);
        start.ArgumentList.Add("admin");
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["ConnectionStrings__Lanes"] = database.ConnectionString;
        start.Environment["Keys__Pepper"] = _pepper;
        start.Environment["Capacity__Source"] = "Configured";
        start.Environment["DataProtection__KeyEncryptionKey"] = KeyRingKey;
        start.Environment["DOTNET_ENVIRONMENT"] = "Development";
        foreach (var (name, value) in _environment)
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout, await stderr);
    }
}
