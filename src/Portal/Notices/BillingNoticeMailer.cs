using System.Net.Mail;
using System.Net.Sockets;
using Lanes.Billing.BillingDetails;
using Lanes.Billing.Notices;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;
using Lanes.Shared.Plans;
using Microsoft.AspNetCore.Identity;

namespace Lanes.Portal.Notices;

/// <summary>
/// Billing's notices as email, through the portal's mailer (SMTP, or the development outbox). They go to the tenant's
/// billing email when an owner set one, otherwise to every owner whose email is confirmed (the address on their
/// account now, not the one they joined with).
/// </summary>
public sealed partial class BillingNoticeMailer(
    IServiceScopeFactory scopes,
    TenantService tenants,
    BillingContactService contacts,
    PlanCatalog plans,
    PublicLinks links,
    IMailer mail,
    ILogger<BillingNoticeMailer> logger) : IBillingMailer
{
    public async Task<NoticeDelivery> DeliverAsync(BillingNotice notice, CancellationToken ct = default)
    {
        if (await tenants.FindAsync(notice.TenantId, ct) is not { } tenant)
        {
            return NoticeDelivery.NotDelivered("the organisation does not exist");
        }

        var billingEmail = (await contacts.FindAsync(notice.TenantId, ct))?.Email;
        IReadOnlyList<string> recipients = billingEmail is not null ? [billingEmail] : await OwnersOfAsync(tenant);
        if (recipients.Count == 0)
        {
            return NoticeDelivery.NotDelivered("no billing email and no owner with a confirmed email");
        }

        var message = BillingNoticeMail.Compose(notice, tenant.Name, notice.Data.PlanId is { } id ? plans.Find(id)?.Name ?? id : null,
            links.To("/billing"), toBillingContact: billingEmail is not null);
        try
        {
            foreach (var to in recipients)
            {
                await mail.SendAsync(to, message.Subject, message.HtmlBody, ct);
            }
        }
        catch (Exception e) when (e is SmtpException or IOException or SocketException)
        {
            return NoticeDelivery.NotDelivered(e.Message);
        }

        Log.Sent(logger, notice.Kind.ToString(), notice.TenantId, recipients.Count);
        return NoticeDelivery.Delivered;
    }

    private async Task<IReadOnlyList<string>> OwnersOfAsync(Tenant tenant)
    {
        await using var scope = scopes.CreateAsyncScope();
        var users = scope.ServiceProvider.GetRequiredService<UserManager<LanesUser>>();
        var emails = new List<string>();
        foreach (var owner in tenant.Members.Where(m => m.Role == MemberRole.Owner))
        {
            // Note: only a confirmed address: billing news about an organisation never goes to an unproven mailbox.
            if (await users.FindByIdAsync(owner.UserId) is { EmailConfirmed: true, Email: { } email })
            {
                emails.Add(email);
            }
        }

        return emails;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5101, Level = LogLevel.Information, Message = "Billing notice {Kind} for tenant {TenantId} sent to {Recipients} recipients")]
        public static partial void Sent(ILogger logger, string kind, Guid tenantId, int recipients);
    }
}
