using Hangfire;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Windows;

namespace Lanes.Billing.Jobs;

/// <summary>
/// Everything billing does because time passed, in one place: one recurring job per concern, each named for what it
/// does and each a thin caller of a pure decision (<see cref="SubscriptionDecisions"/>, <see cref="Keys.KeyDecisions"/>).
/// Each is re-entrant: it reads what is due and changes it with optimistic concurrency, so overlapping runs on several
/// servers make every change once.
/// </summary>
public sealed class BillingJobs(
    WindowRoller windows, DueSubscriptions subscriptions, DueKeys keys, Leases.LeasePools pools, Payments.StripeBilling stripe,
    Payments.BillingModeInfo mode, Notices.BillingNoticeQueue notices, Notices.BillingNoticeSender sender, Capacity.CapacityLedgerView capacity,
    LaneCredits.LaneCreditService credits, TimeProvider clock)
{
    public const string RollWindows = "billing:roll-windows";
    public const string ExpireKeys = "billing:expire-keys";
    public const string RevokeKeysOfEndedSubscriptions = "billing:revoke-keys-of-ended-subscriptions";
    public const string EndLapsedSubscriptions = "billing:end-lapsed-subscriptions";
    public const string ApplyScheduledPlanChanges = "billing:apply-scheduled-plan-changes";
    public const string RenewPeriods = "billing:renew-periods";
    public const string ExpireOverrides = "billing:expire-overrides";
    public const string PruneLeases = "billing:prune-leases";
    public const string SendNotices = "billing:send-notices";
    public const string TrialNotices = "billing:trial-notices";
    public const string CapacitySnapshot = "billing:capacity-snapshot";
    public const string LaneCredits = "billing:lane-credits";

    /// <summary>Ids of jobs an earlier version registered, removed at start so Hangfire does not run what is gone.</summary>
    private static readonly string[] Retired = ["billing:revoke-keys"];

    /// <summary>Each key's budget window that has ended is closed and the next one opened
    /// (<see cref="Keys.KeyDecisions.RollWindow"/>).</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task RollWindowsAsync(CancellationToken ct) => windows.RollDueWindowsAsync(ct);

    /// <summary>Keys past their expiry are revoked.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task<int> ExpireKeysAsync(CancellationToken ct) => keys.ExpireKeysAsync(ct);

    /// <summary>Keys of ended subscriptions are revoked, however the subscription ended.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task<int> RevokeKeysOfEndedSubscriptionsAsync(CancellationToken ct) => keys.RevokeKeysOfEndedSubscriptionsAsync(ct);

    /// <summary>Subscriptions whose cancellation, trial or grace has run out end
    /// (<see cref="SubscriptionDecisions.EndIfLapsed"/>); in Stripe mode, those ended for an unpaid grace are
    /// cancelled in Stripe too.</summary>
    [AutomaticRetry(Attempts = 0)]
    public async Task<int> EndLapsedSubscriptionsAsync(CancellationToken ct)
    {
        var ended = await subscriptions.ApplyAsync(SubscriptionDecisions.EndIfLapsed, ct);
        if (mode.Mode == Payments.BillingMode.Stripe)
        {
            await stripe.EndDunnedSubscriptionsAsync(ct);
        }

        return ended;
    }

    /// <summary>Plan changes scheduled for the period end (downgrades) take effect
    /// (<see cref="SubscriptionDecisions.ApplyScheduledChange"/>).</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task<int> ApplyScheduledPlanChangesAsync(CancellationToken ct) =>
        subscriptions.ApplyAsync(SubscriptionDecisions.ApplyScheduledChange, ct);

    /// <summary>With Lanes' own billing, a period that has ended starts the next one
    /// (<see cref="SubscriptionDecisions.RenewIfDue"/>); Stripe renews its own subscriptions.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task<int> RenewPeriodsAsync(CancellationToken ct) => subscriptions.ApplyAsync(SubscriptionDecisions.RenewIfDue, ct);

    /// <summary>Staff reservation overrides past their expiry lapse (<see cref="SubscriptionDecisions.ExpireOverride"/>).</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task<int> ExpireOverridesAsync(CancellationToken ct) => subscriptions.ApplyAsync(SubscriptionDecisions.ExpireOverride, ct);

    /// <summary>Lease pools of windows that ended more than the longest window ago are never read again.</summary>
    public Task<int> PruneLeasesAsync(CancellationToken ct) => pools.DeleteBeforeAsync(clock.GetUtcNow() - TimeSpan.FromDays(32), ct);

    /// <summary>Lanes' own billing emails waiting in the outbox go out.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task SendNoticesAsync(CancellationToken ct) => sender.SendDueAsync(ct);

    /// <summary>Trials ending soon get their notice (the next minute's run sends it).</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task QueueTrialNoticesAsync(CancellationToken ct) => notices.QueueTrialEndingAsync(ct);

    /// <summary>The capacity ledger as it is this minute, for the staff capacity chart.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task SnapshotCapacityAsync(CancellationToken ct) => capacity.RecordSnapshotAsync(ct);

    /// <summary>Each ended billing period's lane promise is judged once its usage has settled, and what it earned is
    /// credited (<see cref="LaneCredits.LaneCreditService"/>).</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task<int> AssessLaneCreditsAsync(CancellationToken ct) => credits.AssessEndedPeriodsAsync(ct);

    public static void Register(IRecurringJobManager jobs)
    {
        var utc = new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc };
        foreach (var retired in Retired)
        {
            jobs.RemoveIfExists(retired);
        }

        jobs.AddOrUpdate<BillingJobs>(RollWindows, j => j.RollWindowsAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(ExpireKeys, j => j.ExpireKeysAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(RevokeKeysOfEndedSubscriptions, j => j.RevokeKeysOfEndedSubscriptionsAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(EndLapsedSubscriptions, j => j.EndLapsedSubscriptionsAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(ApplyScheduledPlanChanges, j => j.ApplyScheduledPlanChangesAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(RenewPeriods, j => j.RenewPeriodsAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(ExpireOverrides, j => j.ExpireOverridesAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(PruneLeases, j => j.PruneLeasesAsync(CancellationToken.None), Cron.Daily(3), utc);
        jobs.AddOrUpdate<BillingJobs>(SendNotices, j => j.SendNoticesAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(TrialNotices, j => j.QueueTrialNoticesAsync(CancellationToken.None), Cron.Hourly(), utc);
        jobs.AddOrUpdate<BillingJobs>(CapacitySnapshot, j => j.SnapshotCapacityAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(LaneCredits, j => j.AssessLaneCreditsAsync(CancellationToken.None), "*/5 * * * *", utc);
    }
}
