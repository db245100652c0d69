using System.Text.RegularExpressions;

namespace Lanes.Shared.Plans;

/// <summary>
/// A model pool is the gateways that serve the same models (one GPU node type with one model loaded, say) and the
/// capacity sold on them. Note: a lane on one model's GPUs cannot serve another model, so capacity and reservations
/// are counted per pool: a plan names its pool, a gateway says which pool it is in (<c>Gateway:Pool</c>).
/// </summary>
public static partial class ModelPools
{
    /// <summary>The pool of a plan or gateway that names none: a fleet with one kind of node needs no pool at all.</summary>
    public const string Default = "default";

    public static bool IsValidId(string? id) => id is not null && IdPattern().IsMatch(id);

    /// <summary>The pool a plan's lanes are on; a plan the catalog no longer holds counts in the default pool.</summary>
    public static string Of(PlanTier? plan) => plan?.Pool ?? Default;

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{0,39}$")]
    private static partial Regex IdPattern();
}
