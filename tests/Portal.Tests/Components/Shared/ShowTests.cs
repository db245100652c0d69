using Lanes.Billing.Subscriptions;
using Lanes.Portal.Components.Shared;

namespace Lanes.Portal.Tests.Components.Shared;

public class ShowTests
{
    [Theory]
    [InlineData(99.996, "99.99 %")]
    [InlineData(99.95, "99.95 %")]
    [InlineData(100, "100 %")]
    [InlineData(87.56, "87.5 %")]
    [InlineData(0, "0 %")]
    public void A_share_below_an_objective_is_never_rounded_up_to_meet_it(double percent, string shown) =>
        Assert.Equal(shown, Show.Percent(percent));

    [Theory]
    [InlineData(250, "250 ms")]
    [InlineData(999, "999 ms")]
    [InlineData(1000, "1 s")]
    [InlineData(2500, "2.5 s")]
    public void Waits_read_in_milliseconds_below_a_second_and_in_seconds_from_one(double milliseconds, string shown) =>
        Assert.Equal(shown, Show.Wait(TimeSpan.FromMilliseconds(milliseconds)));

    [Theory]
    [InlineData(SubscriptionStatus.PastDue, false, "past due")]
    [InlineData(SubscriptionStatus.InGrace, false, "in grace period")]
    [InlineData(SubscriptionStatus.Trialing, false, "trial")]
    [InlineData(SubscriptionStatus.Active, true, "trial")]
    [InlineData(SubscriptionStatus.Cancelling, false, "cancelling")]
    public void A_subscriptions_state_reads_as_words_not_as_its_code_name(SubscriptionStatus status, bool freeTrial, string shown) =>
        Assert.Equal(shown, Show.Status(status, freeTrial));

    [Fact]
    public void Counts_agree_with_their_noun() =>
        Assert.Equal(["1 lane", "2 lanes", "1,200 requests"], [Show.Count(1, "lane"), Show.Count(2, "lane"), Show.Count(1200, "request")]);
}
