using Lanes.Billing.Notices;
using Lanes.Portal.Notices;

namespace Lanes.Portal.Tests.Notices;

/// <summary>The wording of each billing email: what happened, what it means for lanes and keys, where to act.</summary>
public class BillingNoticeMailTests
{
    private const string BillingPage = "https://portal.lanes.test/billing";
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);
    private static readonly Guid Tenant = Guid.NewGuid();

    private static BillingNotice Notice(BillingNoticeKind kind, BillingNoticeData data) => new($"{kind}:x", Tenant, kind, Now, data);

    [Fact]
    public void A_failed_payment_says_until_when_which_lanes_remain_and_where_to_pay()
    {
        var mail = BillingNoticeMail.Compose(Notice(BillingNoticeKind.PaymentFailed, new() { PlanId = "pro", PlanLanes = 6, GraceLanes = 1, GraceEndsAt = Now.AddDays(3) }),
            "Acme", "Pro", BillingPage, toBillingContact: true);

        Assert.Equal("Payment failed for Acme: pay by 5 Nov 2026 10:30 UTC to keep your lanes", mail.Subject);
        Assert.Contains("keeps 1 of its 6 reserved lanes", mail.HtmlBody);
        Assert.Contains("API keys stop working", mail.HtmlBody);
        Assert.Contains($"href='{BillingPage}'", mail.HtmlBody);
        Assert.Contains("as the billing contact of Acme", mail.HtmlBody);
    }

    [Fact]
    public void A_payment_to_confirm_links_to_stripes_invoice_page_and_only_ever_an_https_one()
    {
        var data = new BillingNoticeData { PlanId = "team", InvoiceId = "in_1", HostedInvoiceUrl = "https://invoice.stripe.com/i/acct_1/test_1" };

        var mail = BillingNoticeMail.Compose(Notice(BillingNoticeKind.AuthenticationNeeded, data), "Acme", "Team", BillingPage, toBillingContact: false);
        var hostile = BillingNoticeMail.Compose(Notice(BillingNoticeKind.AuthenticationNeeded, data with { HostedInvoiceUrl = "javascript:alert(1)" }), "Acme", "Team", BillingPage, false);

        Assert.Contains("href='https://invoice.stripe.com/i/acct_1/test_1'", mail.HtmlBody);
        Assert.Contains("invoice in_1", mail.HtmlBody);
        Assert.Contains("as an owner of Acme", mail.HtmlBody);
        Assert.DoesNotContain("javascript:", hostile.HtmlBody);
        Assert.Contains($"href='{BillingPage}'>Confirm the payment", hostile.HtmlBody);
    }

    [Fact]
    public void A_free_trial_ending_says_keys_stop_and_staff_assign_plans_a_stripe_trial_says_the_card_is_charged()
    {
        var free = BillingNoticeMail.Compose(Notice(BillingNoticeKind.TrialEnding, new() { PlanId = "starter", PlanLanes = 2, TrialEndsAt = Now.AddDays(3), FreeTrial = true }), "Acme", "Starter", BillingPage, true);
        var paid = BillingNoticeMail.Compose(Notice(BillingNoticeKind.TrialEnding, new() { PlanId = "pro", PlanLanes = 6, TrialEndsAt = Now.AddDays(3) }), "Acme", "Pro", BillingPage, true);

        Assert.Equal("Acme's Lanes trial ends on 5 Nov 2026 10:30 UTC", free.Subject);
        Assert.Contains("API keys stop working", free.HtmlBody);
        Assert.Contains("ask Lanes staff for a plan", free.HtmlBody);
        Assert.Contains("card on file is charged", paid.HtmlBody);
        Assert.DoesNotContain("API keys stop working", paid.HtmlBody);
    }

    [Theory]
    [InlineData("grace_expired", "the payment was still missing when the grace period ended")]
    [InlineData("cancelled", "it was cancelled and the period paid for is over")]
    [InlineData("trial_ended", "the free trial is over")]
    [InlineData("stripe_canceled", "it was canceled in Stripe")]
    [InlineData("abuse: see ticket 4711", "Lanes staff ended it")]
    public void An_ended_subscription_says_why_and_that_keys_stopped_but_never_staffs_own_words(string reason, string why)
    {
        var mail = BillingNoticeMail.Compose(Notice(BillingNoticeKind.SubscriptionEnded, new() { PlanId = "pro", EndReason = reason }), "Acme", "Pro", BillingPage, true);

        Assert.Equal("Acme's Lanes subscription has ended", mail.Subject);
        Assert.Contains(why, mail.HtmlBody);
        Assert.Contains("API keys have stopped working", mail.HtmlBody);
        Assert.DoesNotContain("4711", mail.HtmlBody);
    }

    [Fact]
    public void An_organisation_name_is_text_in_the_body_and_one_line_in_the_subject()
    {
        var mail = BillingNoticeMail.Compose(Notice(BillingNoticeKind.SubscriptionEnded, new() { EndReason = "cancelled" }),
            "<b>Evil</b>\r\nBcc: all@example.com", null, BillingPage, true);

        Assert.DoesNotContain("<b>Evil</b>", mail.HtmlBody);
        Assert.Contains("&lt;b&gt;Evil&lt;/b&gt;", mail.HtmlBody);
        Assert.DoesNotContain('\n', mail.Subject);
        Assert.DoesNotContain('\r', mail.Subject);
    }
}
