using System.Collections.Concurrent;
using Lanes.Billing.Jobs;
using Lanes.Billing.Notices;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Marten;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Billing.Tests.Notices;

/// <summary>The mail a host sends, kept in memory; the next deliveries can be made to fail (a mail server down).</summary>
public sealed class MailerForTests : IBillingMailer
{
    public ConcurrentQueue<BillingNotice> Delivered { get; } = new();

    /// <summary>How many of a tenant's next deliveries fail (per tenant, so tests sharing a host do not interfere).</summary>
    public ConcurrentDictionary<Guid, int> FailuresToCome { get; } = new();

    public Task<NoticeDelivery> DeliverAsync(BillingNotice notice, CancellationToken ct = default)
    {
        if (FailuresToCome.GetValueOrDefault(notice.TenantId) > 0)
        {
            FailuresToCome[notice.TenantId]--;
            return Task.FromResult(NoticeDelivery.NotDelivered("mail server unreachable"));
        }

        Delivered.Enqueue(notice);
        return Task.FromResult(NoticeDelivery.Delivered);
    }
}

/// <summary>Billing with a mailer, as the portal hosts it.</summary>
public sealed class BillingWithMail : BillingHost
{
    public MailerForTests Mail { get; } = new();

    protected override void ConfigureServices(IServiceCollection services) => services.AddSingleton<IBillingMailer>(Mail);
}

public class BillingNoticeTests(BillingWithMail billing) : IClassFixture<BillingWithMail>
{
    private DateTimeOffset Now => billing.Clock.GetUtcNow();

    private async Task<IReadOnlyList<BillingNotice>> NoticesOf(Guid tenantId)
    {
        await using var query = billing.Store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await query.Query<BillingNotice>().ToListAsync();
    }

    private async Task<Tenant> NewTenantAsync() =>
        await billing.Get<TenantService>().CreateAsync($"n-{Guid.NewGuid():N}"[..20], "Notice tenant", "test", ("user-1", "owner@test.local"));

    [Fact]
    public async Task A_failed_payment_stores_exactly_one_notice_even_when_the_same_failure_is_applied_twice()
    {
        var tenant = await billing.TenantWithActiveSubscription("pro");

        var grace = await billing.Get<SubscriptionService>().FailPaymentAsync(tenant.Id, "card_declined");
        await billing.Get<SubscriptionService>().FailPaymentAsync(tenant.Id, "card_declined");

        var notice = Assert.Single(await NoticesOf(tenant.Id));
        Assert.Equal((BillingNoticeKind.PaymentFailed, grace.GraceEndsAt, 1), (notice.Kind, notice.Data.GraceEndsAt, notice.Data.GraceLanes));
        Assert.True(notice.IsDue);
    }

    [Fact]
    public async Task A_refused_write_stores_no_notice()
    {
        var tenant = await NewTenantAsync();

        await Assert.ThrowsAsync<RuleViolation>(() => billing.Get<SubscriptionService>().FailPaymentAsync(tenant.Id, "card_declined"));

        Assert.Empty(await NoticesOf(tenant.Id));
    }

    [Fact]
    public async Task The_send_job_delivers_a_notice_once_and_a_failed_delivery_is_tried_again_on_the_next_run()
    {
        var tenant = await billing.TenantWithActiveSubscription("pro");
        await billing.Get<SubscriptionService>().FailPaymentAsync(tenant.Id, "card_declined");
        var sender = billing.Get<BillingNoticeSender>();
        billing.Mail.FailuresToCome[tenant.Id] = 1;

        await sender.SendDueAsync();
        var failed = Assert.Single(await NoticesOf(tenant.Id));
        Assert.Equal((true, 1, "mail server unreachable"), (failed.IsDue, failed.Attempts, failed.LastError));

        await billing.Get<BillingJobs>().SendNoticesAsync(CancellationToken.None);
        await sender.SendDueAsync();

        var sent = Assert.Single(await NoticesOf(tenant.Id));
        Assert.Equal((Now, 2, null), (sent.SentAt, sent.Attempts, sent.LastError));
        Assert.Single(billing.Mail.Delivered, n => n.TenantId == tenant.Id);
    }

    [Fact]
    public async Task A_payment_recovered_before_its_email_went_is_never_mailed()
    {
        var tenant = await billing.TenantWithActiveSubscription("pro");
        await billing.Get<SubscriptionService>().FailPaymentAsync(tenant.Id, "card_declined");
        await billing.Get<SubscriptionService>().RecoverPaymentAsync(tenant.Id);

        await billing.Get<BillingNoticeSender>().SendDueAsync();

        var dropped = Assert.Single(await NoticesOf(tenant.Id));
        Assert.Equal((null, "no longer applies"), (dropped.SentAt, dropped.DropReason));
        Assert.DoesNotContain(billing.Mail.Delivered, n => n.TenantId == tenant.Id);
    }

    [Fact]
    public async Task A_notice_that_cannot_be_delivered_for_longer_than_the_give_up_time_is_dropped_not_sent_late()
    {
        var tenant = await billing.TenantWithActiveSubscription("pro");
        await billing.Get<SubscriptionService>().AdjustReservationAsync(tenant.Id, 6, null, "keep grace open", "staff-1");
        var grace = await billing.Get<SubscriptionService>().FailPaymentAsync(tenant.Id, "card_declined");
        billing.Mail.FailuresToCome[tenant.Id] = 1;
        await billing.Get<BillingNoticeSender>().SendDueAsync();

        billing.Clock.Advance(TimeSpan.FromDays(2).Add(TimeSpan.FromMinutes(1)));
        await billing.Get<BillingNoticeSender>().SendDueAsync();

        var dropped = Assert.Single(await NoticesOf(tenant.Id));
        Assert.Equal((null, 1), (dropped.SentAt, dropped.Attempts));
        Assert.StartsWith("not delivered within", dropped.DropReason);
        Assert.True(grace.GraceEndsAt > Now);
    }

    [Fact]
    public async Task An_ended_subscription_queues_a_notice_saying_why()
    {
        var tenant = await billing.TenantWithActiveSubscription("starter");
        var cancelled = await billing.Get<SubscriptionService>().CancelAsync(tenant.Id, "owner");
        Assert.Empty(await NoticesOf(tenant.Id));

        billing.Clock.SetUtcNow(cancelled.CancelsAt!.Value.AddMinutes(1));
        await billing.Get<BillingJobs>().EndLapsedSubscriptionsAsync(CancellationToken.None);

        var notice = Assert.Single(await NoticesOf(tenant.Id));
        Assert.Equal((BillingNoticeKind.SubscriptionEnded, "cancelled", "starter"), (notice.Kind, notice.Data.EndReason, notice.Data.PlanId));
    }

    [Fact]
    public async Task A_trial_ending_soon_gets_one_notice_however_often_the_hourly_job_runs()
    {
        var tenant = await NewTenantAsync();
        var trial = await billing.Get<SubscriptionService>().StartTrialAsync(tenant.Id, "owner");
        var queue = billing.Get<BillingNoticeQueue>();

        await queue.QueueTrialEndingAsync();
        Assert.Empty(await NoticesOf(tenant.Id));

        billing.Clock.SetUtcNow(trial.PeriodEnd.AddDays(-3).AddMinutes(1));
        await billing.Get<BillingJobs>().QueueTrialNoticesAsync(CancellationToken.None);
        billing.Clock.Advance(TimeSpan.FromHours(1));
        await queue.QueueTrialEndingAsync();

        var notice = Assert.Single(await NoticesOf(tenant.Id));
        Assert.Equal((BillingNoticeKind.TrialEnding, trial.PeriodEnd, true), (notice.Kind, notice.Data.TrialEndsAt, notice.Data.FreeTrial));
    }

    [Fact]
    public async Task A_payment_to_confirm_is_queued_once_per_invoice_however_often_stripe_says_so()
    {
        var tenant = await billing.TenantWithActiveSubscription("pro");
        var queue = billing.Get<BillingNoticeQueue>();

        Assert.True(await queue.QueueAuthenticationNeededAsync(tenant.Id, "https://invoice.stripe.com/i/acct_1/test_1", "in_1"));
        Assert.False(await queue.QueueAuthenticationNeededAsync(tenant.Id, "https://invoice.stripe.com/i/acct_1/test_1", "in_1"));
        Assert.True(await queue.QueueAuthenticationNeededAsync(tenant.Id, "https://invoice.stripe.com/i/acct_1/test_2", "in_2"));

        var notices = await NoticesOf(tenant.Id);
        Assert.Equal(["in_1", "in_2"], notices.Select(n => n.Data.InvoiceId).Order());
        Assert.All(notices, n => Assert.Equal(("pro", BillingNoticeKind.AuthenticationNeeded), (n.Data.PlanId, n.Kind)));
    }
}
