using System.ComponentModel.DataAnnotations;

namespace Lanes.Inference.Budgets;

/// <summary>How gateways share a key's budget and a tenant's requests per window (<c>Gateway:Budgets</c>).</summary>
public sealed class BudgetLeaseOptions : IValidatableObject
{
    public const string Section = "Gateway:Budgets";

    /// <summary>The share of a key's budget one lease takes (at least one request's worst case). Smaller slices
    /// spread a budget more evenly over many gateways; larger ones mean fewer round trips.</summary>
    [Range(0.01, 1.0)]
    public double SliceFraction { get; set; } = 0.25;

    /// <summary>The share of a key's budget a gateway may spend beyond what it last told the database: what it can
    /// serve of a leased key while the database is away, and the most a gateway that dies can lose of that key's
    /// window (the rest of its slices is reclaimed).</summary>
    [Range(0.01, 1.0)]
    public double HeadroomFraction { get; set; } = 0.1;

    /// <summary>A key idle this long on this gateway gives back what it did not use of its leases, except one
    /// request's worth (its largest request's worst case), where another gateway may need it: its pool had less than a
    /// slice left, or another gateway was refused from it. Elsewhere it keeps its leases until
    /// <see cref="IdleRelease"/>, so a key sending now and then does not wait on the database for each request.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan IdleReturn { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A key idle this long on this gateway gives back everything it did not use, the last request's worth
    /// too.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "24:00:00")]
    public TimeSpan IdleRelease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A gateway silent this long (by the database's clock) is taken as gone: survivors give back what it
    /// held above its ceiling.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan ReclaimAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest a request waits on the database for a lease; past it the request gets 503.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:00:30")]
    public TimeSpan DatabaseTimeout { get; set; } = TimeSpan.FromMilliseconds(750);

    /// <summary>After a lease call failed, requests needing one are refused at once for this long, then one tries.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:01:00")]
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromSeconds(1);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (HeadroomFraction > SliceFraction)
        {
            yield return new ValidationResult(
                $"Gateway:Budgets:HeadroomFraction ({HeadroomFraction}) cannot exceed SliceFraction ({SliceFraction}): a gateway cannot spend more than it leases.",
                [nameof(HeadroomFraction)]);
        }

        if (IdleRelease < IdleReturn)
        {
            yield return new ValidationResult(
                $"Gateway:Budgets:IdleRelease ({IdleRelease}) cannot be shorter than IdleReturn ({IdleReturn}): the last request's worth goes back after the rest.",
                [nameof(IdleRelease)]);
        }

        // The keeper renews every second: a gateway must get a few chances before it is taken as gone.
        if (ReclaimAfter < TimeSpan.FromSeconds(2))
        {
            yield return new ValidationResult("Gateway:Budgets:ReclaimAfter must be at least 2 s (leases are renewed every second).", [nameof(ReclaimAfter)]);
        }
    }
}
