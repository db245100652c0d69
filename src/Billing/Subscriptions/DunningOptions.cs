using System.ComponentModel.DataAnnotations;

namespace Lanes.Billing.Subscriptions;

/// <summary>What happens after a failed payment (<c>Dunning</c> section).</summary>
public sealed class DunningOptions
{
    public const string Section = "Dunning";

    /// <summary>How long a tenant keeps a reduced reservation after a failed payment before the subscription ends.</summary>
    public TimeSpan GracePeriod { get; set; } = TimeSpan.FromDays(3);

    /// <summary>Lanes kept during grace (never more than the plan's).</summary>
    [Range(0, 1_000)]
    public int GraceLanes { get; set; } = 1;
}
