namespace Lanes.Inference.LaneScheduling;

/// <summary>A live gateway and the requests its engine runs at once.</summary>
public sealed record PlacementNode(string Id, int Slots);

/// <summary>How each tenant's reservation is split over the live gateways.</summary>
public sealed record Placement(IReadOnlyDictionary<string, IReadOnlyDictionary<Guid, int>> ByNode, int Unplaced)
{
    public static readonly Placement Empty = new(new Dictionary<string, IReadOnlyDictionary<Guid, int>>(), 0);

    public int ReservedOn(string node, Guid tenant) =>
        ByNode.TryGetValue(node, out var tenants) && tenants.TryGetValue(tenant, out var lanes) ? lanes : 0;

    public int ReservedByAllOn(string node) => ByNode.TryGetValue(node, out var tenants) ? tenants.Values.Sum() : 0;
}

/// <summary>
/// Splits reservations over gateways. Every gateway computes it from the same inputs (the live gateways and the
/// tenants' reservations, both read from PostgreSQL), so they agree without talking to each other.
/// </summary>
public static class LanePlacement
{
    /// <summary>
    /// Each tenant's lanes go to the gateways in proportion to their slots, one at a time, each to the gateway with
    /// the most slots not yet reserved (ties by id, starting from a tenant-specific gateway so remainders spread).
    /// Note: a gateway's slots are never reserved past what it has; lanes that fit nowhere are counted in
    /// <see cref="Placement.Unplaced"/> (the fleet lost capacity and has oversold it until a node returns).
    /// </summary>
    public static Placement Place(IReadOnlyList<PlacementNode> nodes, IReadOnlyList<(Guid Tenant, int Reserved)> tenants)
    {
        var ordered = nodes.Where(n => n.Slots > 0).OrderBy(n => n.Id, StringComparer.Ordinal).ToList();
        var free = ordered.ToDictionary(n => n.Id, n => n.Slots);
        var byNode = ordered.ToDictionary(n => n.Id, _ => new Dictionary<Guid, int>());
        var unplaced = 0;
        foreach (var (tenant, reserved) in tenants.OrderByDescending(t => t.Reserved).ThenBy(t => t.Tenant))
        {
            var start = ordered.Count == 0 ? 0 : (int)(BitConverter.ToUInt32(tenant.ToByteArray(), 0) % (uint)ordered.Count);
            var rotation = ordered.Skip(start).Concat(ordered.Take(start)).ToList();
            for (var lane = 0; lane < reserved; lane++)
            {
                // The gateway with the most free slots relative to its size keeps splits proportional.
                var best = rotation
                    .Where(n => free[n.Id] > 0)
                    .OrderByDescending(n => (double)free[n.Id] / n.Slots)
                    .ThenBy(n => byNode[n.Id].GetValueOrDefault(tenant))
                    .FirstOrDefault();
                if (best is null)
                {
                    unplaced += reserved - lane;
                    break;
                }

                free[best.Id]--;
                byNode[best.Id][tenant] = byNode[best.Id].GetValueOrDefault(tenant) + 1;
            }
        }

        return new Placement(byNode.ToDictionary(n => n.Key, n => (IReadOnlyDictionary<Guid, int>)n.Value), unplaced);
    }
}
