using Lanes.Portal.Components.Pages.Support;

namespace Lanes.Portal.Tests.Components.Pages.Support;

public class ReservationFormTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);

    [Fact]
    public void Lanes_and_a_reason_are_required_and_an_end_must_be_in_the_future()
    {
        var errors = new ReservationForm { Lanes = null, Reason = " ", Until = new DateTime(2026, 11, 1) }.Validate(Now);

        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("lanes to reserve"));
        Assert.Contains(errors, e => e.Contains("reason is kept"));
        Assert.Contains(errors, e => e.Contains("in the future"));
    }

    [Fact]
    public void The_last_day_picked_is_included_in_the_override()
    {
        var form = new ReservationForm { Lanes = 8, Reason = "launch", Until = new DateTime(2026, 11, 2) };

        Assert.Empty(form.Validate(Now));
        Assert.Equal(new DateTimeOffset(2026, 11, 3, 0, 0, 0, TimeSpan.Zero), form.UntilUtc);
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(ReservationForm.MaxLanes + 1)]
    public void Lanes_outside_the_range_are_refused(int lanes)
    {
        Assert.Single(new ReservationForm { Lanes = lanes, Reason = "x" }.Validate(Now));
    }
}
