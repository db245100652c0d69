using System.CommandLine;
using Lanes.Billing.Capacity;
using Lanes.Shared.Plans;

namespace Lanes.Portal.Admin;

/// <summary><c>capacity</c> prints the ledger; <c>capacity plan</c> declares a model pool's engine slots from a time on.</summary>
internal static class CapacityCommands
{
    public static Command Capacity() =>
        new Command("capacity", "The capacity ledger: sellable, sold, live, unplaced, planned, gateways.") { Plan() }
            .Runs(async (_, op) => OperatorViews.Capacity(await op.Get<CapacityLedgerView>().ReadAsync()));

    private static Command Plan()
    {
        var pool = CliOptions.Text("--pool", $"The model pool (default: {ModelPools.Default}).");
        var slots = CliOptions.Parsed<int>("--slots", "Engine slots from then on; 0 withdraws the plan.",
            (string text, out int n) => int.TryParse(text, out n) && n >= 0, "--slots is a whole number of engine slots (0 withdraws the plan).");
        var from = CliOptions.Instant("--from", "When the slots are there, ISO 8601 (default: now).");
        var reason = CliOptions.Text("--reason", "Why, recorded with the plan.");
        return new Command("plan", "Declare a model pool's engine slots from a time on; 0 withdraws the plan.") { pool, slots, from, reason }
            .Requires(slots, reason)
            .Runs(async (parse, op) =>
            {
                var ledger = op.Get<CapacityLedgerView>();
                await ledger.PlanAsync(parse.Required(slots), parse.GetValue(from) ?? DateTimeOffset.UtcNow, parse.Required(reason), op.By,
                    parse.GetValue(pool) ?? ModelPools.Default);
                return OperatorViews.Capacity(await ledger.ReadAsync());
            });
    }
}
