using System.CommandLine;
using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Billing.Tenants;

namespace Lanes.Portal.Admin;

/// <summary>API keys as staff manage them: <c>key create</c>, <c>key revoke</c> (by id or prefix, any tenant), <c>key list</c>.</summary>
internal static class KeyCommands
{
    public static Command Key() => OperatorCommand.Group("key", "Issue, revoke and list API keys.", Create(), Revoke(), List());

    private static Command Create()
    {
        var tenant = TenantOption();
        var name = CliOptions.Text("--name", "The key's name.");
        var budget = CliOptions.Amount("--budget-usd", "Spend allowed per window, in USD (default: the plan's).");
        var window = CliOptions.WindowLength("--window", "The budget window, such as 8h, 30m or 1d (default: the plan's).");
        var expires = CliOptions.Instant("--expires", "When the key stops working, ISO 8601 (default: never).");
        var models = CliOptions.List("--models", "The models it may call, comma-separated (default: all).");
        return new Command("create", "Issue an API key; its secret is printed once.") { tenant, name, budget, window, expires, models }
            .Requires(tenant, name)
            .Runs(async (parse, op) =>
            {
                var request = new KeyRequest(parse.Required(name), parse.GetValue(budget), parse.GetValue(window), parse.GetValue(expires), parse.GetValue(models));
                var found = await op.Get<TenantService>().GetBySlugAsync(parse.Required(tenant));
                var issued = await op.Get<KeyService>().IssueAsync(found.Id, request, op.By);
                return OperatorViews.Key(issued.Key, issued.Secret);
            });
    }

    private static Command Revoke()
    {
        var key = CliOptions.Text("--key", "The key's id, or at least 8 characters of its prefix.");
        return new Command("revoke", "Revoke a key, whichever tenant it belongs to.") { key }
            .Requires(key)
            .Runs(async (parse, op) =>
            {
                var keys = op.Get<KeyService>();
                var found = await FindOneKeyAsync(keys, parse.Required(key));
                return OperatorViews.Key(await keys.RevokeAsync(found.TenantId, found.Id, RevocationReason.Staff, op.By), secret: null);
            });
    }

    private static Command List()
    {
        var tenant = TenantOption();
        return new Command("list", "A tenant's keys, without their secrets.") { tenant }
            .Requires(tenant)
            .Runs(async (parse, op) =>
            {
                var found = await op.Get<TenantService>().GetBySlugAsync(parse.Required(tenant));
                return (await op.Get<KeyService>().ListAsync(found.Id)).Select(k => OperatorViews.Key(k, secret: null)).ToList();
            });
    }

    private static Option<string> TenantOption() => CliOptions.Text("--tenant", "The tenant's slug.");

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
}
