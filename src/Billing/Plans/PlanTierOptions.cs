using System.ComponentModel.DataAnnotations;
using Lanes.Shared.Plans;
using Lanes.Shared.Windows;

namespace Lanes.Billing.Plans;

public sealed class PlanTierOptions
{
    [Required, RegularExpression("^[a-z0-9-]{1,40}$")]
    public string Id { get; set; } = "";

    [Required]
    public string Name { get; set; } = "";

    [Range(0, 1_000_000)]
    public decimal MonthlyPriceUsd { get; set; }

    [Range(0, 100_000)]
    public int ReservedLanes { get; set; }

    [Range(1, int.MaxValue)]
    public int RequestsPerWindow { get; set; }

    [Range(0, 1_000_000)]
    public decimal DefaultKeyBudgetUsd { get; set; }

    public string Window { get; set; } = "8h";

    public List<string> Models { get; set; } = [];

    public string? StripePriceId { get; set; }

    public bool SelfServe { get; set; } = true;

    /// <summary>The model pool the plan's lanes are sold from: the gateways configured with the same
    /// <c>Gateway:Pool</c>, which must serve the plan's models.</summary>
    public string Pool { get; set; } = ModelPools.Default;

    /// <summary>The plan's lane promise (<c>Plans:Tiers:N:Slo</c>); the defaults when unset.</summary>
    public LaneSloOptions Slo { get; set; } = new();

    public PlanTier ToTier()
    {
        WindowSchedule.TryParseLength(Window, out var window);
        return new PlanTier(Id, Name, MonthlyPriceUsd, ReservedLanes, RequestsPerWindow, DefaultKeyBudgetUsd, window, Models, StripePriceId, SelfServe, Pool, Slo.ToSlo());
    }
}
