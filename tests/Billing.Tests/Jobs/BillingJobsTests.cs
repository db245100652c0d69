using Hangfire;
using Lanes.Billing.Jobs;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Jobs;

public class BillingJobsTests(BillingHost host) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task Ending_a_subscription_revokes_all_its_keys_and_nothing_else()
    {
        var ending = await host.TenantWithActiveSubscription();
        var staying = await host.TenantWithActiveSubscription();
        var endingKeys = new[] { await host.KeyFor(ending, name: "a"), await host.KeyFor(ending, name: "b") };
        var stayingKey = await host.KeyFor(staying);
        await host.Get<SubscriptionService>().EndAsync(ending.Id, "cancelled", "owner");

        var revoked = await Task.WhenAll(host.Get<BillingJobs>().RevokeKeysOfEndedSubscriptionsAsync(CancellationToken.None), host.Get<BillingJobs>().RevokeKeysOfEndedSubscriptionsAsync(CancellationToken.None));

        Assert.Equal(2, revoked.Sum());
        var keys = host.Get<KeyService>();
        foreach (var k in endingKeys)
        {
            var key = await keys.FindAsync(ending.Id, k.Key.Id);
            Assert.Equal((KeyState.Revoked, RevocationReason.SubscriptionEnded), (key!.State, key.RevokedFor));
        }

        Assert.Equal(KeyState.Active, (await keys.FindAsync(staying.Id, stayingKey.Key.Id))!.State);
    }

    [Fact]
    public async Task Grace_that_runs_out_ends_the_subscription_then_revokes_the_keys()
    {
        var tenant = await host.TenantWithActiveSubscription("pro");
        var issued = await host.KeyFor(tenant);
        var subscriptions = host.Get<SubscriptionService>();
        var inGrace = await subscriptions.FailPaymentAsync(tenant.Id, "card_declined");
        Assert.Equal(1, inGrace.ReservedLanesAt(host.Clock.GetUtcNow()));

        host.Clock.SetUtcNow(inGrace.GraceEndsAt!.Value.AddSeconds(1));
        await host.Get<BillingJobs>().EndLapsedSubscriptionsAsync(CancellationToken.None);
        await host.Get<BillingJobs>().RevokeKeysOfEndedSubscriptionsAsync(CancellationToken.None);

        Assert.Equal(SubscriptionStatus.Ended, (await subscriptions.FindAsync(tenant.Id))!.Status);
        Assert.Equal(RevocationReason.SubscriptionEnded, (await host.Get<KeyService>().FindAsync(tenant.Id, issued.Key.Id))!.RevokedFor);
    }

    [Fact]
    public async Task Keys_past_their_expiry_are_revoked_as_expired()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var now = host.Clock.GetUtcNow();
        var expiring = await host.KeyFor(tenant, name: "short", expires: now.AddMinutes(5));
        var lasting = await host.KeyFor(tenant, name: "long", expires: now.AddDays(30));
        host.Clock.Advance(TimeSpan.FromMinutes(6));

        await host.Get<BillingJobs>().ExpireKeysAsync(CancellationToken.None);

        var keys = host.Get<KeyService>();
        Assert.Equal(RevocationReason.Expired, (await keys.FindAsync(tenant.Id, expiring.Key.Id))!.RevokedFor);
        Assert.Equal(KeyState.Active, (await keys.FindAsync(tenant.Id, lasting.Key.Id))!.State);
    }

    [Fact]
    public async Task On_lanes_own_billing_an_ended_period_renews_and_a_cancelled_one_ends_instead()
    {
        var renewing = await host.TenantWithActiveSubscription("starter");
        var cancelling = await host.TenantWithActiveSubscription("starter");
        var subscriptions = host.Get<SubscriptionService>();
        var cancelled = await subscriptions.CancelAsync(cancelling.Id, "owner");
        var periodEnd = (await subscriptions.FindAsync(renewing.Id))!.PeriodEnd;
        host.Clock.SetUtcNow(new[] { periodEnd, cancelled.CancelsAt!.Value }.Max().AddMinutes(1));
        var jobs = host.Get<BillingJobs>();

        // Twice, as overlapping servers would: renewed once.
        await Task.WhenAll(jobs.RenewPeriodsAsync(CancellationToken.None), jobs.RenewPeriodsAsync(CancellationToken.None));
        await jobs.EndLapsedSubscriptionsAsync(CancellationToken.None);

        var renewed = (await subscriptions.FindAsync(renewing.Id))!;
        Assert.Equal((SubscriptionStatus.Active, periodEnd.AddDays(30)), (renewed.Status, renewed.PeriodEnd));
        Assert.Equal(SubscriptionStatus.Ended, (await subscriptions.FindAsync(cancelling.Id))!.Status);
    }

    [Fact]
    public async Task Staff_overrides_lapse_at_their_expiry()
    {
        var tenant = await host.TenantWithActiveSubscription("starter");
        var subscriptions = host.Get<SubscriptionService>();
        var until = host.Clock.GetUtcNow().AddHours(2);
        await subscriptions.AdjustReservationAsync(tenant.Id, 5, until, "trial of more lanes", "staff-1");
        host.Clock.SetUtcNow(until);

        await Task.WhenAll(host.Get<BillingJobs>().ExpireOverridesAsync(CancellationToken.None), host.Get<BillingJobs>().ExpireOverridesAsync(CancellationToken.None));

        var s = await subscriptions.FindAsync(tenant.Id);
        Assert.Null(s!.Override);
        Assert.Equal(2, s.AllocatedLanes);
    }
}

/// <summary>Billing with a Hangfire server on PostgreSQL storage, as the portal runs it.</summary>
public sealed class BillingWithJobs : BillingHost
{
    protected override BillingRole Role => BillingRole.Jobs;
}

[Collection(HangfireServers.Name)]
public class RecurringJobTests(BillingWithJobs host) : IClassFixture<BillingWithJobs>
{
    [Fact]
    public async Task The_recurring_revocation_job_runs_on_hangfire_storage()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant);
        await host.Get<SubscriptionService>().EndAsync(tenant.Id, "cancelled", "owner");

        host.Get<IRecurringJobManager>().Trigger(BillingJobs.RevokeKeysOfEndedSubscriptions);

        var key = await Eventually.Get(
            () => host.Get<KeyService>().FindAsync(tenant.Id, issued.Key.Id),
            k => k!.State == KeyState.Revoked, TimeSpan.FromSeconds(60), "the Hangfire job to revoke the key");
        Assert.Equal(RevocationReason.SubscriptionEnded, key!.RevokedFor);
    }
}
