using System.CommandLine;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;

namespace Lanes.Portal.Admin;

/// <summary><c>tenant create</c> (a tenant on a plan, in one transaction) and <c>tenant list</c>.</summary>
internal static class TenantCommands
{
    public static Command Tenant() => OperatorCommand.Group("tenant", "Create and list tenants.", Create(), List());

    private static Command Create()
    {
        var slug = CliOptions.Text("--slug", "The tenant's short name, used in URLs and by other commands.");
        var name = CliOptions.Text("--name", "The tenant's display name.");
        var plan = CliOptions.Text("--plan", "The plan it starts on.");
        return new Command("create", "Create a tenant on a plan.") { slug, name, plan }
            .Requires(slug, name, plan)
            .Runs(async (parse, op) =>
            {
                // One transaction: a plan refused (unknown, no capacity) leaves no tenant behind.
                var tier = parse.Required(plan);
                var subscriptions = op.Get<SubscriptionService>();
                Subscription? subscription = null;
                var tenant = await op.Get<TenantService>().CreateAsync(parse.Required(slug), parse.Required(name), op.By, owner: null,
                    alongside: async (session, id) => subscription = await subscriptions.StartWithNewTenantAsync(session, id, tier, op.By));
                return OperatorViews.Tenant(tenant.Slug, tenant.Name, tenant.Id, subscription!, DateTimeOffset.UtcNow);
            });
    }

    private static Command List() =>
        new Command("list", "Every tenant, across the database.")
            .Runs(async (_, op) =>
            {
                var all = await op.Get<TenantService>().ListAcrossTenantsAsync();
                return all.Select(t => new { slug = t.Slug, name = t.Name, tenant_id = t.Id, created_at = t.CreatedAt }).ToList();
            });
}
