using Lanes.Inference.Engine.Scripted;
using Lanes.Inference.LaneScheduling;
using Microsoft.Extensions.Options;

namespace Lanes.Inference.Tests.LaneScheduling;

public class LaneSchedulerTests
{
    private static readonly Guid A = Guid.NewGuid(), B = Guid.NewGuid(), C = Guid.NewGuid();

    private static LaneScheduler Scheduler(int slots, int queueLength = 16, TimeSpan? timeout = null) => new(
        new ScriptedEngine(Options.Create(new ScriptedEngineOptions { Slots = slots }), TimeProvider.System),
        Options.Create(new LaneOptions { QueueLength = queueLength, QueueTimeout = timeout ?? TimeSpan.FromSeconds(30) }),
        TimeProvider.System);

    [Fact]
    public async Task Tenants_idle_for_the_given_time_are_forgotten_and_busy_or_waiting_ones_kept()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var lanes = new LaneScheduler(
            new ScriptedEngine(Options.Create(new ScriptedEngineOptions { Slots = 1 }), clock),
            Options.Create(new LaneOptions { QueueLength = 4, QueueTimeout = TimeSpan.FromMinutes(30) }), clock);
        (await lanes.LeaseAsync(A, reserved: 0, reservedByAll: 0, CancellationToken.None)).Dispose();
        var running = await lanes.LeaseAsync(B, reserved: 0, reservedByAll: 0, CancellationToken.None);
        var waiting = lanes.LeaseAsync(C, reserved: 0, reservedByAll: 0, CancellationToken.None);

        clock.Advance(TimeSpan.FromMinutes(11));
        var forgotten = lanes.ForgetIdle(TimeSpan.FromMinutes(10));

        Assert.Equal(1, forgotten);
        Assert.Equal(new[] { B, C }.Order(), lanes.Occupancy().Select(o => o.Tenant).Order());
        running.Dispose();
        (await waiting).Dispose();
    }

    [Fact]
    public async Task A_tenant_below_its_reservation_runs_at_once_whatever_others_send()
    {
        var lanes = Scheduler(slots: 8, queueLength: 64);
        var flood = Enumerable.Range(0, 64).Select(_ => lanes.LeaseAsync(B, reserved: 4, reservedByAll: 8, CancellationToken.None)).ToList();

        var mine = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => lanes.LeaseAsync(A, reserved: 4, reservedByAll: 8, CancellationToken.None)));

        Assert.All(mine, l => Assert.False(l.Borrowed));
        Assert.Equal(4, flood.Count(t => t.IsCompletedSuccessfully));
        Assert.Equal(new LaneView(4, 4, 0, 60), lanes.View(B, 4));
    }

    [Fact]
    public async Task Idle_unreserved_capacity_is_borrowed_but_never_a_reservation_that_may_come()
    {
        var lanes = Scheduler(slots: 8);

        // A holds 2 reserved lanes it is not using; B (2 reserved) may borrow the 4 that nobody reserved.
        var b = Enumerable.Range(0, 10).Select(_ => lanes.LeaseAsync(B, reserved: 2, reservedByAll: 4, CancellationToken.None)).ToList();

        Assert.Equal(6, b.Count(t => t.IsCompletedSuccessfully));
        Assert.Equal(4, b.Where(t => t.IsCompletedSuccessfully).Count(t => t.Result.Borrowed));
        var a = await lanes.LeaseAsync(A, reserved: 2, reservedByAll: 4, CancellationToken.None);
        Assert.False(a.Borrowed);
        Assert.Equal(new LaneView(2, 6, 4, 4), lanes.View(B, 2));
    }

    [Fact]
    public async Task Freed_slots_go_to_reservations_first_then_to_the_least_served_burst()
    {
        var lanes = Scheduler(slots: 2);
        var heavy = await lanes.LeaseAsync(B, 0, 0, CancellationToken.None);
        var light = await lanes.LeaseAsync(C, 0, 0, CancellationToken.None);
        heavy.ServedTokens = 10_000;
        light.ServedTokens = 10;
        var waitingB = lanes.LeaseAsync(B, 0, 0, CancellationToken.None);
        var waitingC = lanes.LeaseAsync(C, 0, 0, CancellationToken.None);

        // C has had less service, so the first freed slot is C's; B waits for the next one.
        heavy.Dispose();
        var c = await waitingC.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(waitingB.IsCompleted);
        light.Dispose();
        await waitingB.WaitAsync(TimeSpan.FromSeconds(5));

        // A reservation that arrives while B is also waiting gets the next slot.
        var next = lanes.LeaseAsync(B, 0, 0, CancellationToken.None);
        var reserved = lanes.LeaseAsync(A, 1, 1, CancellationToken.None);
        c.Dispose();
        Assert.False((await reserved.WaitAsync(TimeSpan.FromSeconds(5))).Borrowed);
        Assert.False(next.IsCompleted);
    }

    [Fact]
    public async Task A_full_lane_queue_refuses_at_once()
    {
        var lanes = Scheduler(slots: 1, queueLength: 1);
        await lanes.LeaseAsync(A, 1, 1, CancellationToken.None);
        _ = lanes.LeaseAsync(A, 1, 1, CancellationToken.None);

        var refused = (await lanes.AcquireAsync(A, 1, 1, CancellationToken.None)).Refusal;

        Assert.Equal("lane_queue_full", refused?.Code);
    }

    [Fact]
    public async Task A_request_that_waits_too_long_is_refused_and_leaves_the_queue()
    {
        var lanes = Scheduler(slots: 1, timeout: TimeSpan.FromMilliseconds(50));
        await lanes.LeaseAsync(A, 1, 1, CancellationToken.None);

        var refused = (await lanes.AcquireAsync(A, 1, 1, CancellationToken.None)).Refusal;

        Assert.Equal("lane_queue_timeout", refused?.Code);
        Assert.Equal(0, lanes.View(A, 1).Queued);
    }

    [Fact]
    public async Task A_cancelled_waiter_leaves_the_queue_and_a_released_lease_frees_its_slot_once()
    {
        var lanes = Scheduler(slots: 1);
        var running = await lanes.LeaseAsync(A, 1, 1, CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var leaving = lanes.LeaseAsync(A, 1, 1, cancel.Token);
        var staying = lanes.LeaseAsync(A, 1, 1, CancellationToken.None);

        await cancel.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => leaving);
        running.Dispose();
        running.Dispose();

        var next = await staying;
        Assert.Equal(new LaneView(1, 1, 0, 0), lanes.View(A, 1));
        next.Dispose();
        Assert.Equal(new LaneView(1, 0, 0, 0), lanes.View(A, 1));
    }

    [Fact]
    public async Task Past_its_share_here_a_tenant_under_its_fleet_reservation_runs_in_a_spill_lane_that_bursting_cannot_take()
    {
        // One of two gateways of 8 slots: A reserves 6 across the fleet, 3 placed here, and runs nothing elsewhere;
        // B floods. The gateway keeps 3 spill lanes (A's whole reservation less its share here).
        var lanes = Scheduler(slots: 8, queueLength: 64);
        lanes.SetSpillLanes(3);
        var flood = Enumerable.Range(0, 32).Select(_ => lanes.LeaseAsync(B, reserved: 0, reservedByAll: 3, CancellationToken.None)).ToList();
        Assert.Equal(2, flood.Count(t => t.IsCompletedSuccessfully)); // 8 slots - 3 of A's reservation - 3 spill lanes

        var mine = await Task.WhenAll(Enumerable.Range(0, 6).Select(async _ =>
            (await lanes.AcquireAsync(A, reserved: 3, reservedByAll: 3, CancellationToken.None, new FleetStanding(6, RunningElsewhere: 0))).Lease!));

        Assert.Equal(3, mine.Count(l => l.Spill));
        Assert.DoesNotContain(mine, l => l.Borrowed);

        // At its fleet reservation, the next request of A is a burst like B's and waits; when one of A's ends, it
        // is back under its reservation and the waiting one takes the freed spill lane, not B.
        var over = lanes.AcquireAsync(A, reserved: 3, reservedByAll: 3, CancellationToken.None, new FleetStanding(6, RunningElsewhere: 0));
        Assert.False(over.IsCompleted);
        mine[5].Dispose();
        var next = (await over).Lease!;
        Assert.True(next.Spill);
        Assert.Equal(2, flood.Count(t => t.IsCompletedSuccessfully));
        foreach (var lease in mine[..5].Append(next))
        {
            lease.Dispose();
        }
    }

    [Fact]
    public async Task A_request_within_the_fleet_reservation_is_judged_with_what_runs_elsewhere()
    {
        var lanes = Scheduler(slots: 8);

        var first = await lanes.AcquireAsync(A, reserved: 2, reservedByAll: 2, CancellationToken.None, new FleetStanding(4, RunningElsewhere: 3));
        var second = await lanes.AcquireAsync(A, reserved: 2, reservedByAll: 2, CancellationToken.None, new FleetStanding(4, RunningElsewhere: 3));

        Assert.True(first.WithinReservation); // 0 here + 3 elsewhere < 4
        Assert.False(second.WithinReservation); // 1 here + 3 elsewhere = 4
        first.Lease!.Dispose();
        second.Lease!.Dispose();
    }
}

internal static class GrantedLanes
{
    /// <summary>A lane the test expects to be granted: a refusal fails the test with its reason.</summary>
    public static async Task<LaneLease> LeaseAsync(this LaneScheduler lanes, Guid tenant, int reserved, int reservedByAll, CancellationToken ct)
    {
        var grant = await lanes.AcquireAsync(tenant, reserved, reservedByAll, ct);
        return grant.Lease ?? throw new Xunit.Sdk.XunitException($"Expected a lane, was refused: {grant.Refusal}");
    }
}
