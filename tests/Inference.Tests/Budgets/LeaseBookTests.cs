using Lanes.Billing.GatewayContract;
using Lanes.Billing.Leases;
using Lanes.Inference.Budgets;
using Lanes.Shared.Windows;
using Lanes.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Tests.Budgets;

/// <summary>One gateway's accounts against allowances in PostgreSQL: spending comes from memory, the database is asked
/// only for a new slice, and what was not spent goes back.</summary>
public class LeaseBookTests(BillingHost host) : IClassFixture<BillingHost>
{
    private static readonly IOptions<BudgetLeaseOptions> Options = Microsoft.Extensions.Options.Options.Create(new BudgetLeaseOptions());

    private LeaseBook Book() =>
        new(host.Get<LeasePools>(), new LeaseCircuit(Options, host.Clock, NullLogger<LeaseCircuit>.Instance), $"book-test/{Guid.NewGuid():N}", ILeasePools.ForKey, Options, host.Clock);

    private Window Window => WindowSchedule.At(host.Clock.GetUtcNow(), TimeSpan.FromHours(8));

    [Fact]
    public async Task Takes_come_from_the_leased_slice_and_a_new_slice_is_leased_only_when_it_runs_out()
    {
        var (book, key, pools) = (Book(), Guid.NewGuid(), host.Get<LeasePools>());

        Assert.True((await book.TryTakeAsync(key, Window, capacity: 10m, amount: 1m, slice: 4m, headroom: 0.5m, alreadyUsed: 0m, CancellationToken.None)).Taken);
        var afterFirst = await pools.GrantedAsync(ILeasePools.ForKey(key), Window.Start);
        for (var i = 0; i < 3; i++)
        {
            Assert.True((await book.TryTakeAsync(key, Window, 10m, 1m, 4m, 0.5m, 0m, CancellationToken.None)).Taken);
        }

        var afterSlice = await pools.GrantedAsync(ILeasePools.ForKey(key), Window.Start);
        var (taken, standing) = await book.TryTakeAsync(key, Window, 10m, 1m, 4m, 0.5m, 0m, CancellationToken.None);

        Assert.Equal((4m, 4m), (afterFirst, afterSlice));
        Assert.True(taken);
        Assert.Equal(8m, await pools.GrantedAsync(ILeasePools.ForKey(key), Window.Start));
        Assert.Equal(5m, standing.Held);
    }

    [Fact]
    public async Task Nothing_is_taken_past_the_allowance_and_what_was_not_spent_goes_back_to_the_pool()
    {
        var (book, key, pools) = (Book(), Guid.NewGuid(), host.Get<LeasePools>());
        var window = Window;
        Assert.True((await book.TryTakeAsync(key, window, capacity: 3m, amount: 2m, slice: 3m, headroom: 0.5m, alreadyUsed: 0m, CancellationToken.None)).Taken);
        Assert.False((await book.TryTakeAsync(key, window, 3m, 2m, 3m, 0.5m, 0m, CancellationToken.None)).Taken);

        book.Settle(key, window.Start, held: 2m, used: 0.75m);
        await book.ReturnUnusedAsync(everything: true, CancellationToken.None);

        Assert.Equal(0.75m, await pools.GrantedAsync(ILeasePools.ForKey(key), window.Start));
        Assert.Equal(0.75m, book.StandingIn(key, window).Spent);
    }
}
