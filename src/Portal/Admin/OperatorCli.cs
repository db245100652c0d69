using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Api.Clients;
using Lanes.Portal.Identity;
using Lanes.Shared.Windows;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Options;

namespace Lanes.Portal.Admin;

/// <summary>
/// <c>./lanes admin ...</c>: what operators script against, on the same database as the portal. Output shapes are
/// stable; <c>--json</c> prints one JSON document; errors go to stderr with a non-zero exit.
/// </summary>
public static class OperatorCli
{
    private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    /// <summary>Where staff passwords come from (never the command line).</summary>
    public const string PasswordVariable = "LANES_ADMIN_PASSWORD";

    public static async Task<int> RunAsync(string[] args)
    {
        var cli = new CliArguments(args);
        if (cli.Words.Count == 0 || cli.Words[0] == "help")
        {
            Console.Out.Write(Help);
            return 0;
        }

        var builder = Host.CreateApplicationBuilder();
        // stdout carries only the command's result; warnings and errors go to stderr.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter((category, level) => level >= (category?.StartsWith("Marten", StringComparison.Ordinal) == true ? LogLevel.Error : LogLevel.Warning));

        // EF logs its probe for the migrations table as a failed command on a fresh database; that is expected.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None);
        builder.AddBilling(BillingRole.Services);
        builder.AddIdentityStore();
        builder.AddManagementClients();
        using var host = builder.Build();

        // Marten prints start-up notes (such as the async daemon being off, which a command never needs) straight to
        // the console; scripts read stdout as the result and stderr as the one-line error, so the notes go nowhere.
        // A start-up failure is an exception, reported as usual.
        var stdout = Console.Out;
        Console.SetOut(TextWriter.Null);
        // The Data Protection key ring lives in the identity store and is read when the host starts.
        await IdentityStore.MigrateAsync(host.Services);
        await host.StartAsync();
        Console.SetOut(stdout);
        try
        {
            var result = await DispatchAsync(host.Services, cli);
            Print(cli, result);
            return 0;
        }
        catch (CliUsageException e)
        {
            await Console.Error.WriteLineAsync(cli.Json ? ErrorJson("usage", e.Message) : $"error: {e.Message}\n\n{Help}");
            return 2;
        }
        catch (RuleViolation e)
        {
            await Console.Error.WriteLineAsync(cli.Json ? ErrorJson(e.Code, e.Message) : $"error ({e.Code}): {e.Message}");
            return 1;
        }
        catch (NotFound e)
        {
            await Console.Error.WriteLineAsync(cli.Json ? ErrorJson("not_found", e.Message) : $"error (not_found): {e.Message}");
            return 1;
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>With <c>--json</c> an error is JSON too, so a script parses every outcome the same way.</summary>
    private static string ErrorJson(string code, string message) =>
        JsonSerializer.Serialize(new { error = new { code, message } }, new JsonSerializerOptions(JsonSerializerDefaults.Web));

    private static async Task<object> DispatchAsync(IServiceProvider services, CliArguments cli)
    {
        var tenants = services.GetRequiredService<TenantService>();
        var subscriptions = services.GetRequiredService<SubscriptionService>();
        var keys = services.GetRequiredService<KeyService>();
        var by = $"operator:{Environment.UserName}";

        switch (string.Join(' ', cli.Words))
        {
            case "tenant create":
            {
                // One transaction: a plan refused (unknown, no capacity) leaves no tenant behind.
                var plan = cli.Required("plan");
                Subscription? subscription = null;
                var tenant = await tenants.CreateAsync(cli.Required("slug"), cli.Required("name"), by, owner: null,
                    alongside: async (session, id) => subscription = await subscriptions.StartWithNewTenantAsync(session, id, plan, by));
                return TenantView(tenant.Slug, tenant.Name, tenant.Id, subscription!, DateTimeOffset.UtcNow);
            }

            case "capacity":
                return CapacityView(await services.GetRequiredService<Lanes.Billing.Capacity.CapacityLedgerView>().ReadAsync());

            case "capacity plan":
            {
                var slots = int.TryParse(cli.Required("slots"), out var n) && n >= 0 ? n : throw new CliUsageException("--slots is a whole number of engine slots (0 withdraws the plan).");
                var from = cli.Optional("from") is { } text ? ParseInstant(text, "from") : DateTimeOffset.UtcNow;
                await services.GetRequiredService<Lanes.Billing.Capacity.CapacityLedgerView>().PlanAsync(slots, from, cli.Required("reason"), by,
                    cli.Optional("pool") ?? Lanes.Shared.Plans.ModelPools.Default);
                return CapacityView(await services.GetRequiredService<Lanes.Billing.Capacity.CapacityLedgerView>().ReadAsync());
            }

            case "tenant list":
            {
                var all = await tenants.ListAcrossTenantsAsync();
                return all.Select(t => new { slug = t.Slug, name = t.Name, tenant_id = t.Id, created_at = t.CreatedAt }).ToList();
            }

            case "plan assign":
            {
                // With --lanes, the plan and the override are one write: refused (capacity, unknown plan), neither happens.
                var tenant = await tenants.GetBySlugAsync(cli.Required("tenant"));
                var adjust = cli.Optional("lanes") is { } text
                    ? new ReservationChange(int.TryParse(text, out var lanes) ? lanes : throw new CliUsageException("--lanes is a whole number."),
                        cli.Optional("until") is { } until ? ParseInstant(until, "until") : null, cli.Required("reason"), cli.Optional("staff") ?? by)
                    : null;
                var subscription = await subscriptions.AssignAsync(tenant.Id, cli.Required("plan"), by, adjust);
                return TenantView(tenant.Slug, tenant.Name, tenant.Id, subscription, DateTimeOffset.UtcNow);
            }

            case "reservation set":
            {
                var tenant = await tenants.GetBySlugAsync(cli.Required("tenant"));
                var lanes = int.TryParse(cli.Required("lanes"), out var n) ? n : throw new CliUsageException("--lanes is a whole number.");
                var until = cli.Optional("until") is { } text ? ParseInstant(text, "until") : (DateTimeOffset?)null;
                var subscription = await subscriptions.AdjustReservationAsync(tenant.Id, lanes, until, cli.Required("reason"), cli.Optional("staff") ?? by);
                return TenantView(tenant.Slug, tenant.Name, tenant.Id, subscription, DateTimeOffset.UtcNow);
            }

            case "key create":
            {
                var request = ParseKeyRequest(cli);
                var tenant = await tenants.GetBySlugAsync(cli.Required("tenant"));
                var issued = await keys.IssueAsync(tenant.Id, request, by);
                return KeyView(issued.Key, issued.Secret);
            }

            case "key revoke":
            {
                var key = await FindOneKeyAsync(keys, cli.Required("key"));
                return KeyView(await keys.RevokeAsync(key.TenantId, key.Id, RevocationReason.Staff, by), secret: null);
            }

            case "key list":
            {
                var tenant = await tenants.GetBySlugAsync(cli.Required("tenant"));
                return (await keys.ListAsync(tenant.Id)).Select(k => KeyView(k, secret: null)).ToList();
            }

            case "staff create":
            {
                var user = await StaffAccounts.EnsureAsync(services, cli.Required("email"), cli.Secret("password", PasswordVariable));
                return new { user_id = user.Id, email = user.Email, role = Roles.Staff };
            }

            case "staff remove":
            {
                var user = await StaffAccounts.RemoveAsync(services, cli.Required("email"));
                return new { user_id = user.Id, email = user.Email, removed = Roles.Staff, sessions = "signed out everywhere" };
            }

            case "client create":
            {
                var tenant = await tenants.GetBySlugAsync(cli.Required("tenant"));
                var scopes = (cli.Optional("scopes") ?? string.Join(',', ManagementScopes.All)).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                var expires = cli.Optional("expires") is { } e ? ParseInstant(e, "expires") : (DateTimeOffset?)null;
                var issued = await services.GetRequiredService<ManagementClientService>().CreateAsync(tenant.Id, new ClientRequest(cli.Required("name"), scopes, expires), by);
                return new { client_id = issued.Client.ClientId, client_secret = issued.Secret, tenant = tenant.Slug, scopes = issued.Client.Scopes, expires_at = issued.Client.ExpiresAt };
            }

            case "client revoke":
            {
                var tenant = await tenants.GetBySlugAsync(cli.Required("tenant"));
                var client = await services.GetRequiredService<ManagementClientService>().RevokeAsync(tenant.Id, cli.Required("client"), by);
                return new { client_id = client.ClientId, revoked_at = client.RevokedAt };
            }

            case "auth-keys rotate":
            {
                var folder = services.GetRequiredService<IOptions<ManagementAuthOptions>>().Value.KeysPath
                    ?? throw new CliUsageException("ManagementApi:KeysPath is not set (./lanes sets it to .data/keys/openiddict).");
                var written = SigningKeyFolder.Rotate(Path.GetFullPath(folder), services.GetRequiredService<TimeProvider>());
                return new { written, note = "Restart every portal replica; tokens signed with the previous key stay valid until they expire." };
            }

            case "migrate":
            {
                await DatabaseSchemas.ApplyAsync(services);
                return new { schemas = DatabaseSchemas.All, applied = true };
            }

            case "db-roles":
            {
                var roles = DatabaseRoles.For(
                    cli.Secret("portal-password", "LANES_DB_PORTAL_PASSWORD"),
                    cli.Secret("gateway-password", "LANES_DB_GATEWAY_PASSWORD"),
                    cli.Secret("jobs-password", "LANES_DB_JOBS_PASSWORD"));
                await DatabaseRoles.ApplyAsync(services.GetRequiredService<Npgsql.NpgsqlDataSource>(), roles);
                return roles.Select(r => new { role = r.Name, schemas = r.Schemas }).ToList();
            }

            case "demo seed":
                return await DemoSeed.RunAsync(services, cli.Required("admin-email"), cli.Secret("admin-password", PasswordVariable), cli.Has("new-key"), by);

            default:
                throw new CliUsageException($"unknown command '{string.Join(' ', cli.Words)}'.");
        }
    }

    private static KeyRequest ParseKeyRequest(CliArguments cli)
    {
        decimal? budget = cli.Optional("budget-usd") is { } b
            ? decimal.TryParse(b, NumberStyles.Number, CultureInfo.InvariantCulture, out var usd) ? usd : throw new CliUsageException("--budget-usd is an amount such as 5 or 2.50.")
            : null;
        TimeSpan? window = cli.Optional("window") is { } w
            ? WindowSchedule.TryParseLength(w, out var length) ? length : throw new CliUsageException("--window is a length such as 8h, 30m or 1d.")
            : null;
        var expires = cli.Optional("expires") is { } e ? ParseInstant(e, "expires") : (DateTimeOffset?)null;
        var models = cli.Optional("models")?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new KeyRequest(cli.Required("name"), budget, window, expires, models);
    }

    private static async Task<ApiKey> FindOneKeyAsync(KeyService keys, string idOrPrefix)
    {
        var found = await keys.FindAcrossTenantsAsync(idOrPrefix);
        return found.Count switch
        {
            0 => throw new NotFound($"Key '{idOrPrefix}' (give its id or at least 8 characters of its prefix)"),
            1 => found[0],
            _ => throw new CliUsageException($"'{idOrPrefix}' matches {found.Count} keys; give the key id or a longer prefix."),
        };
    }

    private static DateTimeOffset ParseInstant(string text, string option) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at.ToUniversalTime()
            : throw new CliUsageException($"--{option} is an ISO 8601 time such as 2026-12-31T00:00:00Z.");

    internal static object TenantView(string slug, string name, Guid tenantId, Subscription s, DateTimeOffset now) => new
    {
        slug,
        name,
        tenant_id = tenantId,
        plan = s.PlanId,
        status = s.Status,
        reserved_lanes = s.ReservedLanesAt(now),
        plan_lanes = s.PlanLanes,
        @override = s.Override is { } o ? new { lanes = o.Lanes, until = o.Until, reason = o.Reason, staff = o.StaffId } : null,
        period_end = s.PeriodEnd,
    };

    private static object CapacityView(Lanes.Billing.Capacity.CapacityReport r) => new
    {
        source = r.Source,
        sellable_lanes = r.SellableLanes,
        sold_lanes = r.SoldLanes,
        free_lanes = r.FreeLanes,
        live_slots = r.LiveSlots,
        unplaced_lanes = r.UnplacedLanes,
        spare_slots = r.SpareSlots,
        trial_pool = r.TrialLanes,
        pending_checkout_lanes = r.PendingLanes,
        pools = r.Pools.Select(p => new
        {
            pool = p.Pool,
            plans = p.Plans,
            models = p.Now.Models,
            unserved_models = p.UnservedModels,
            sellable_lanes = p.Now.SellableLanes,
            sold_lanes = p.SoldLanes,
            free_lanes = p.FreeLanes,
            live_slots = p.Now.LiveSlots,
            placed_lanes = p.PlacedLanes,
            unplaced_lanes = p.UnplacedLanes,
            spare_slots = p.Now.SpareSlots,
            trial_pool = p.Now.TrialLanes,
            pending_checkout_lanes = p.PendingLanes,
            planned = p.Now.Planned is { } f ? new { slots = f.Slots, from = f.EffectiveAt, reason = f.Reason, by = f.DeclaredBy } : null,
        }).ToList(),
        gateways = r.Nodes.Select(n => new { id = n.Id, pool = n.Pool, slots = n.Slots, models = n.Models, reported_at = n.ReportedAt }).ToList(),
    };

    internal static object KeyView(ApiKey k, string? secret) => new
    {
        id = k.Id,
        tenant_id = k.TenantId,
        name = k.Name,
        prefix = k.Prefix,
        state = k.State,
        revoked_for = k.RevokedFor,
        budget_usd = k.BudgetUsd,
        window = WindowSchedule.Format(k.WindowLength),
        window_resets_at = k.WindowEnd,
        spent_usd = k.WindowSpentUsd,
        expires_at = k.ExpiresAt,
        models = k.Models,
        created_at = k.CreatedAt,
        secret,
    };

    private static void Print(CliArguments cli, object result)
    {
        var json = JsonSerializer.Serialize(result, JsonOptions);
        if (cli.Json)
        {
            Console.Out.WriteLine(json);
            return;
        }

        // Without --json: the same fields, one per line, readable in a terminal.
        using var doc = JsonDocument.Parse(json);
        var items = doc.RootElement.ValueKind == JsonValueKind.Array ? doc.RootElement.EnumerateArray().ToList() : [doc.RootElement];
        if (items.Count == 0)
        {
            Console.Out.WriteLine("(none)");
        }

        foreach (var item in items)
        {
            foreach (var p in item.EnumerateObject().Where(p => p.Value.ValueKind != JsonValueKind.Null))
            {
                Console.Out.WriteLine($"{p.Name,-18} {p.Value}");
            }

            Console.Out.WriteLine();
        }

        if (result.GetType().GetProperty("secret")?.GetValue(result) is string)
        {
            Console.Out.WriteLine("The secret is shown once: store it now.");
        }
    }

    private const string Help = """
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
}
