using System.ComponentModel.DataAnnotations;
using Lanes.Shared.Plans;
using Lanes.Shared.Windows;
using Microsoft.Extensions.Options;

namespace Lanes.Billing.Plans;

/// <summary>The plan catalog as operators configure it under <c>Plans:Tiers</c>; empty means the shipped defaults.</summary>
public sealed class PlanOptions
{
    public const string Section = "Plans";

    public List<PlanTierOptions> Tiers { get; set; } = [];

    public PlanCatalog ToCatalog() => Tiers.Count == 0
        ? new PlanCatalog(PlanCatalog.Defaults)
        : new PlanCatalog(Tiers.Select(t => t.ToTier()));
}

