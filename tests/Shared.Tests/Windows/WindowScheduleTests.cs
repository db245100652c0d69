using Lanes.Shared.Windows;

namespace Lanes.Shared.Tests.Windows;

public class WindowScheduleTests
{
    private static readonly TimeSpan EightHours = TimeSpan.FromHours(8);

    [Theory]
    [InlineData("2026-11-02T00:00:00Z", "2026-11-02T00:00:00Z", "2026-11-02T08:00:00Z")]
    [InlineData("2026-11-02T07:59:59Z", "2026-11-02T00:00:00Z", "2026-11-02T08:00:00Z")]
    [InlineData("2026-11-02T08:00:00Z", "2026-11-02T08:00:00Z", "2026-11-02T16:00:00Z")]
    [InlineData("2026-11-02T23:30:00Z", "2026-11-02T16:00:00Z", "2026-11-03T00:00:00Z")]
    public void Eight_hour_windows_start_at_fixed_utc_times_of_day(string instant, string start, string end)
    {
        var window = WindowSchedule.At(DateTimeOffset.Parse(instant), EightHours);

        Assert.Equal(DateTimeOffset.Parse(start), window.Start);
        Assert.Equal(DateTimeOffset.Parse(end), window.End);
    }

    [Fact]
    public void An_instant_in_another_offset_maps_to_the_same_utc_window()
    {
        var berlin = new DateTimeOffset(2026, 11, 2, 9, 0, 0, TimeSpan.FromHours(1)); // 08:00 UTC

        Assert.Equal(new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero), WindowSchedule.At(berlin, EightHours).Start);
    }

    [Fact]
    public void The_window_end_belongs_to_the_next_window()
    {
        var window = WindowSchedule.At(DateTimeOffset.Parse("2026-11-02T10:00:00Z"), EightHours);

        Assert.True(window.Contains(window.End - TimeSpan.FromTicks(1)));
        Assert.False(window.Contains(window.End));
        Assert.Equal(TimeSpan.FromHours(6), window.Remaining(DateTimeOffset.Parse("2026-11-02T10:00:00Z")));
    }

    [Theory]
    [InlineData("8h", 8 * 60)]
    [InlineData("30m", 30)]
    [InlineData("1d", 24 * 60)]
    [InlineData("02:00:00", 120)]
    public void Lengths_parse_as_operators_write_them(string text, int minutes)
    {
        Assert.True(WindowSchedule.TryParseLength(text, out var length));
        Assert.Equal(TimeSpan.FromMinutes(minutes), length);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0h")]
    [InlineData("-3h")]
    [InlineData("40d")]
    [InlineData("soon")]
    [InlineData("00:00:10")]
    public void Lengths_outside_one_minute_to_31_days_or_unreadable_are_refused(string text)
    {
        Assert.False(WindowSchedule.TryParseLength(text, out _));
    }
}
