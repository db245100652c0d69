namespace Lanes.Testing;

/// <summary>A plan of the catalog as configuration (<c>Plans:Tiers:N</c>), for hosts that sell their own plans.</summary>
public static class PlanTierSettings
{
    public static IEnumerable<KeyValuePair<string, string?>> Tier(int i, string id, int lanes, string? pool = null, string? model = null) =>
    [
        new($"Plans:Tiers:{i}:Id", id), new($"Plans:Tiers:{i}:Name", id), new($"Plans:Tiers:{i}:MonthlyPriceUsd", "50"),
        new($"Plans:Tiers:{i}:ReservedLanes", lanes.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        new($"Plans:Tiers:{i}:RequestsPerWindow", "1000"), new($"Plans:Tiers:{i}:DefaultKeyBudgetUsd", "5"),
        .. pool is null ? [] : new KeyValuePair<string, string?>[] { new($"Plans:Tiers:{i}:Pool", pool) },
        .. model is null ? [] : new KeyValuePair<string, string?>[] { new($"Plans:Tiers:{i}:Models:0", model) },
    ];
}
