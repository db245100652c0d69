using Lanes.Billing.BillingDetails;
using Lanes.Billing.Notices;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;
using Lanes.Portal.Tests.Security;
using Lanes.Testing;
using Marten;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.DependencyInjection;

namespace Lanes.Portal.Tests.Notices;

/// <summary>Billing notices leave through the portal's mailer (here the development outbox) to the right people.</summary>
[Collection(PortalHosts.Name)]
public class BillingNoticeDeliveryTests(SecuredPortal portal) : IClassFixture<SecuredPortal>
{
    private async Task<Guid> TenantOfAsync(string ownerEmail)
    {
        await using var scope = portal.Services.CreateAsyncScope();
        var user = await scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>().FindByEmailAsync(ownerEmail);
        return Assert.Single(await portal.Get<TenantService>().MembershipsOfAsync(user!.Id)).Tenant.Id;
    }

    private async Task<BillingNotice> SentNoticeOfAsync(Guid tenantId) =>
        await Eventually.Get(async () =>
        {
            await using var query = portal.Get<IDocumentStore>().QuerySession(Tenant.MartenTenantOf(tenantId));
            return await query.Query<BillingNotice>().SingleAsync();
        }, n => n.SentAt is not null, what: "the notice to be marked sent");

    private Task<OutboxMessage> MailToAsync(string to) =>
        Eventually.Get(() => Task.FromResult(portal.Get<Outbox>().Messages.FirstOrDefault(m => m.To == to && !m.Subject.StartsWith("Confirm your email", StringComparison.Ordinal))),
            m => m is not null, what: $"a billing email to {to}")!;

    [Fact]
    public async Task A_failed_payment_is_mailed_to_the_billing_email_with_the_grace_end_and_a_link_to_the_billing_page()
    {
        var (owner, ownerEmail) = await portal.ConfirmedOwnerAsync();
        owner.Dispose();
        var tenant = await TenantOfAsync(ownerEmail);
        var billingEmail = $"billing-{Guid.NewGuid():N}@acme.test";
        await portal.Get<BillingContactService>().UpdateAsync(tenant, new BillingDetailsCommand(billingEmail, "Acme", null), "test");
        var grace = await portal.Get<SubscriptionService>().FailPaymentAsync(tenant, "card_declined");

        await portal.Get<BillingNoticeSender>().SendDueAsync();

        var mail = await MailToAsync(billingEmail);
        Assert.StartsWith("Payment failed for ", mail.Subject);
        Assert.Contains(grace.GraceEndsAt!.Value.UtcDateTime.ToString("d MMM yyyy HH:mm", System.Globalization.CultureInfo.InvariantCulture), mail.HtmlBody);
        Assert.Contains($"href='{SecuredPortal.PublicUrl}/billing'", mail.HtmlBody);
        Assert.DoesNotContain(portal.Get<Outbox>().Messages, m => m.To == ownerEmail && m.Subject.StartsWith("Payment failed", StringComparison.Ordinal));
        await SentNoticeOfAsync(tenant);
    }

    [Fact]
    public async Task Without_a_billing_email_an_ended_subscription_is_mailed_to_the_owner()
    {
        var (owner, ownerEmail) = await portal.ConfirmedOwnerAsync();
        owner.Dispose();
        var tenant = await TenantOfAsync(ownerEmail);
        await portal.Get<SubscriptionService>().EndAsync(tenant, "trial_ended", "test");

        await portal.Get<BillingNoticeSender>().SendDueAsync();

        var mail = await MailToAsync(ownerEmail);
        Assert.EndsWith("Lanes subscription has ended", mail.Subject);
        Assert.Contains("the free trial is over", mail.HtmlBody);
        Assert.Contains("as an owner of", mail.HtmlBody);
        Assert.Equal(BillingNoticeKind.SubscriptionEnded, (await SentNoticeOfAsync(tenant)).Kind);
    }
}
