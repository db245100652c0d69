using System.ComponentModel.DataAnnotations;

namespace Lanes.Billing.LaneCredits;

/// <summary>When the credits job judges an ended period (<c>LaneCredits</c>).</summary>
public sealed class LaneCreditOptions
{
    public const string Section = "LaneCredits";

    /// <summary>How long after a period ends its usage is taken as complete: gateways flush every second, but a
    /// gateway cut off from billing spools its usage and sends it when it is back.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "7.00:00:00")]
    public TimeSpan SettleDelay { get; set; } = TimeSpan.FromMinutes(30);
}
