using System.CommandLine;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;

namespace Lanes.Portal.Admin;

/// <summary>A tenant's subscription as staff change it: <c>plan assign</c> and <c>reservation set</c> (an override of its lanes).</summary>
internal static class SubscriptionCommands
{
    public static Command Plan() => OperatorCommand.Group("plan", "Change a tenant's plan.", Assign());

    public static Command Reservation() => OperatorCommand.Group("reservation", "Override a tenant's reserved lanes.", Set());

    private static Command Assign()
    {
        var tenant = TenantOption();
        var plan = CliOptions.Text("--plan", "The plan to put the tenant on.");
        var (lanes, until, reason, staff) = OverrideOptions();
        var assign = new Command("assign", "Put a tenant on a plan, optionally with a lanes override in the same write.") { tenant, plan, lanes, until, reason, staff }
            .Requires(tenant, plan);

        // The override's reason is required only with an override.
        assign.Validators.Add(result =>
        {
            if (!result.Lacks(lanes) && result.Lacks(reason))
            {
                result.AddError($"{reason.Name} is required.");
            }
        });
        return assign.Runs(async (parse, op) =>
        {
            // With --lanes, the plan and the override are one write: refused (capacity, unknown plan), neither happens.
            var found = await op.Get<TenantService>().GetBySlugAsync(parse.Required(tenant));
            var adjust = parse.GetValue(lanes) is { } n
                ? new ReservationChange(n, parse.GetValue(until), parse.Required(reason), parse.GetValue(staff) ?? op.By)
                : null;
            var subscription = await op.Get<SubscriptionService>().AssignAsync(found.Id, parse.Required(plan), op.By, adjust);
            return OperatorViews.Tenant(found.Slug, found.Name, found.Id, subscription, DateTimeOffset.UtcNow);
        });
    }

    private static Command Set()
    {
        var tenant = TenantOption();
        var (lanes, until, reason, staff) = OverrideOptions();
        return new Command("set", "Reserve a number of lanes for a tenant, until a time or for good.") { tenant, lanes, until, reason, staff }
            .Requires(tenant, lanes, reason)
            .Runs(async (parse, op) =>
            {
                var found = await op.Get<TenantService>().GetBySlugAsync(parse.Required(tenant));
                var subscription = await op.Get<SubscriptionService>().AdjustReservationAsync(
                    found.Id, parse.Required(lanes), parse.GetValue(until), parse.Required(reason), parse.GetValue(staff) ?? op.By);
                return OperatorViews.Tenant(found.Slug, found.Name, found.Id, subscription, DateTimeOffset.UtcNow);
            });
    }

    private static Option<string> TenantOption() => CliOptions.Text("--tenant", "The tenant's slug.");

    private static (Option<int?> Lanes, Option<DateTimeOffset?> Until, Option<string> Reason, Option<string> Staff) OverrideOptions() => (
        CliOptions.WholeNumber("--lanes", "The lanes reserved for the tenant while the override lasts."),
        CliOptions.Instant("--until", "When the override ends, ISO 8601 (default: never)."),
        CliOptions.Text("--reason", "Why, recorded with the override."),
        CliOptions.Text("--staff", "Who asked for it (default: operator:<your user name>)."));
}
