namespace Lanes.Billing.Plans;

public sealed class ModelPriceOptions
{
    public string Model { get; set; } = "";
    public decimal InputPerMillionUsd { get; set; }
    public decimal OutputPerMillionUsd { get; set; }

    /// <summary>Price of prompt tokens served from a prefix cache; unset means the input price.</summary>
    public decimal? CachedInputPerMillionUsd { get; set; }
    public string Source { get; set; } = "";
    public DateOnly AsOf { get; set; }
}
