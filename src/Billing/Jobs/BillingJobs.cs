using Hangfire;
using Lanes.Billing.Windows;

namespace Lanes.Billing.Jobs;

/// <summary>The recurring jobs, registered in one place with stable ids. Each is re-entrant: it reads what is due
/// and changes it with optimistic concurrency, so overlapping runs on several servers do every change once.</summary>
public sealed class BillingJobs(
    WindowRoller windows, Revocations revocations, Leases.LeasePools pools, Payments.StripeBilling stripe, Payments.BillingModeInfo mode,
    Notices.BillingNoticeQueue notices, Notices.BillingNoticeSender sender, Capacity.CapacityLedgerView capacity, TimeProvider clock)
{
    public const string RollWindows = "billing:roll-windows";
    public const string RevokeKeys = "billing:revoke-keys";
    public const string ExpireOverrides = "billing:expire-overrides";
    public const string PruneLeases = "billing:prune-leases";
    public const string SendNotices = "billing:send-notices";
    public const string TrialNotices = "billing:trial-notices";
    public const string CapacitySnapshot = "billing:capacity-snapshot";

    /// <summary>Lease pools of windows that ended more than the longest window ago are never read again.</summary>
    public Task<int> PruneLeasesAsync(CancellationToken ct) => pools.DeleteBeforeAsync(clock.GetUtcNow() - TimeSpan.FromDays(32), ct);

    [AutomaticRetry(Attempts = 0)]
    public Task RollWindowsAsync(CancellationToken ct) => windows.RollDueWindowsAsync(ct);

    [AutomaticRetry(Attempts = 0)]
    public async Task RevokeKeysAsync(CancellationToken ct)
    {
        await revocations.EndLapsedSubscriptionsAsync(ct);
        if (mode.Mode == Payments.BillingMode.Stripe)
        {
            await stripe.EndDunnedSubscriptionsAsync(ct);
        }

        await revocations.RevokeKeysAsync(ct);
    }

    [AutomaticRetry(Attempts = 0)]
    public Task ExpireOverridesAsync(CancellationToken ct) => revocations.ExpireOverridesAsync(ct);

    /// <summary>Lanes' own billing emails waiting in the outbox go out.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task SendNoticesAsync(CancellationToken ct) => sender.SendDueAsync(ct);

    /// <summary>Trials ending soon get their notice (the next minute's run sends it).</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task QueueTrialNoticesAsync(CancellationToken ct) => notices.QueueTrialEndingAsync(ct);

    /// <summary>The capacity ledger as it is this minute, for the staff capacity chart.</summary>
    [AutomaticRetry(Attempts = 0)]
    public Task SnapshotCapacityAsync(CancellationToken ct) => capacity.RecordSnapshotAsync(ct);

    public static void Register(IRecurringJobManager jobs)
    {
        var utc = new RecurringJobOptions { TimeZone = TimeZoneInfo.Utc };
        jobs.AddOrUpdate<BillingJobs>(RollWindows, j => j.RollWindowsAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(RevokeKeys, j => j.RevokeKeysAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(ExpireOverrides, j => j.ExpireOverridesAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(PruneLeases, j => j.PruneLeasesAsync(CancellationToken.None), Cron.Daily(3), utc);
        jobs.AddOrUpdate<BillingJobs>(SendNotices, j => j.SendNoticesAsync(CancellationToken.None), Cron.Minutely(), utc);
        jobs.AddOrUpdate<BillingJobs>(TrialNotices, j => j.QueueTrialNoticesAsync(CancellationToken.None), Cron.Hourly(), utc);
        jobs.AddOrUpdate<BillingJobs>(CapacitySnapshot, j => j.SnapshotCapacityAsync(CancellationToken.None), Cron.Minutely(), utc);
    }
}
