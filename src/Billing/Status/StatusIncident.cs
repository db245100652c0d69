namespace Lanes.Billing.Status;

/// <summary>An incident staff post on the public status page: what is affected and what is being done, open until
/// they resolve it. Global (not a tenant's): the status page is public.</summary>
public sealed record StatusIncident
{
    public Guid Id { get; init; }
    public string Title { get; init; } = "";
    public string Message { get; init; } = "";

    /// <summary>The models affected; empty means all.</summary>
    public IReadOnlyList<string> Models { get; init; } = [];
    public DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? ResolvedAt { get; init; }
    public string? Resolution { get; init; }
    public string PostedBy { get; init; } = "";

    public bool Open => ResolvedAt is null;
}
