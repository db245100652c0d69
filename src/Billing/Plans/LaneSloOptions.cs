using System.ComponentModel.DataAnnotations;
using Lanes.Shared.Plans;

namespace Lanes.Billing.Plans;

/// <summary>A plan's lane promise as operators configure it (<c>Plans:Tiers:N:Slo</c>); see <see cref="LaneSlo"/>.</summary>
public sealed class LaneSloOptions
{
    [Range(1, 60_000)]
    public int AdmissionTargetMs { get; set; } = (int)LaneSlo.Default.AdmissionTarget.TotalMilliseconds;

    [Range(50.0, 100.0)]
    public double TargetPercent { get; set; } = LaneSlo.Default.TargetPercent;

    /// <summary>Credit tiers; empty means the default tiers (10 % below 99.9, 25 % below 99, 50 % below 95).</summary>
    public List<SloCreditTierOptions> Credits { get; set; } = [];

    public LaneSlo ToSlo() => new(
        TimeSpan.FromMilliseconds(AdmissionTargetMs),
        TargetPercent,
        Credits.Count == 0 ? LaneSlo.Default.Credits : [.. Credits.Select(c => new SloCreditTier(c.BelowPercent, c.CreditPercent))]);
}

public sealed class SloCreditTierOptions
{
    [Range(0.0, 100.0)]
    public double BelowPercent { get; set; }

    [Range(0.0, 100.0)]
    public double CreditPercent { get; set; }
}
