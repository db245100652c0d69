using Lanes.Billing.Infrastructure;
using Lanes.Billing.Usage;
using Marten;
using Npgsql;

namespace Lanes.Billing.Status;

/// <summary>One model's lane promise across the whole fleet over a stretch of time.</summary>
public sealed record ModelPromise(string Model, long WithinReservation, long Honoured, double? AdmissionWaitP99Seconds)
{
    public double? HonouredPercent => WithinReservation == 0 ? null : 100.0 * Honoured / WithinReservation;
}

/// <summary>What the public status page shows: per model, the last 24 hours and 90 days; and the incidents.</summary>
public sealed record StatusReport(
    DateTimeOffset ComputedAt, IReadOnlyList<ModelPromise> Day, IReadOnlyList<ModelPromise> Quarter, IReadOnlyList<StatusIncident> Incidents);

/// <summary>
/// The public status page's figures, from the hourly usage roll-up summed over every tenant (counts only, no tenant
/// is named), and staff's incidents. Note: the page needs no sign-in, so what it reads is computed at most once a
/// <see cref="CacheFor"/> whatever the traffic; a flood of status requests costs the database nothing more.
/// </summary>
public sealed class FleetStatus(NpgsqlDataSource database, IDocumentStore store, TimeProvider clock)
{
    public static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);

    private readonly SemaphoreSlim _computing = new(1, 1);
    private volatile StatusReport? _cached;

    public async Task<StatusReport> CurrentAsync(CancellationToken ct = default)
    {
        if (_cached is { } fresh && clock.GetUtcNow() - fresh.ComputedAt < CacheFor)
        {
            return fresh;
        }

        await _computing.WaitAsync(ct);
        try
        {
            if (_cached is { } again && clock.GetUtcNow() - again.ComputedAt < CacheFor)
            {
                return again;
            }

            var now = clock.GetUtcNow();
            _cached = new StatusReport(now, await PerModelAsync(now.AddDays(-1), ct), await PerModelAsync(now.AddDays(-90), ct), await IncidentsAsync(now, ct));
            return _cached;
        }
        finally
        {
            _computing.Release();
        }
    }

    /// <summary>Forgets the cached figures (staff posted or resolved an incident: show it at once).</summary>
    public void Invalidate() => _cached = null;

    public async Task<StatusIncident> PostAsync(string title, string message, IReadOnlyList<string> models, string staffId, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(title) || title.Trim().Length > 200 || string.IsNullOrWhiteSpace(message) || message.Trim().Length > 4000)
        {
            throw new RuleViolation("invalid_incident", "An incident has a title (up to 200 characters) and a message (up to 4,000).");
        }

        var incident = new StatusIncident
        {
            Id = Guid.NewGuid(), Title = title.Trim(), Message = message.Trim(), Models = [.. models.Where(m => m.Length > 0).Distinct()],
            StartedAt = clock.GetUtcNow(), PostedBy = staffId,
        };
        await using var session = store.LightweightSession();
        session.Store(incident);
        await session.SaveChangesAsync(ct);
        Invalidate();
        return incident;
    }

    public async Task ResolveAsync(Guid id, string resolution, CancellationToken ct = default)
    {
        if (string.IsNullOrWhiteSpace(resolution) || resolution.Trim().Length > 4000)
        {
            throw new RuleViolation("invalid_incident", "Say how it was resolved (up to 4,000 characters).");
        }

        await using var session = store.LightweightSession();
        var incident = await session.LoadAsync<StatusIncident>(id, ct) ?? throw new NotFound("Incident");
        if (!incident.Open)
        {
            return;
        }

        session.Store(incident with { ResolvedAt = clock.GetUtcNow(), Resolution = resolution.Trim() });
        await session.SaveChangesAsync(ct);
        Invalidate();
    }

    private async Task<IReadOnlyList<StatusIncident>> IncidentsAsync(DateTimeOffset now, CancellationToken ct)
    {
        var since = now.AddDays(-90);
        await using var query = store.QuerySession();
        return await query.Query<StatusIncident>()
            .Where(i => i.ResolvedAt == null || i.ResolvedAt > since)
            .OrderByDescending(i => i.StartedAt)
            .Take(50)
            .ToListAsync(ct);
    }

    private async Task<IReadOnlyList<ModelPromise>> PerModelAsync(DateTimeOffset since, CancellationToken ct)
    {
        // Counts and the wait histogram summed per model (the histogram element by element).
        await using var command = database.CreateCommand(
            $"""
            select h.model, sum(coalesce(h.within_reservation, 0))::bigint, sum(coalesce(h.honoured, 0))::bigint,
                   (select array_agg(total order by i) from (
                        select u.i, sum(u.c)::bigint as total
                        from {BillingStore.Schema}.usage_hours w, unnest(w.reserved_wait_counts) with ordinality as u(c, i)
                        where w.model = h.model and w.hour_start >= $1
                        group by u.i) as b)
            from {BillingStore.Schema}.usage_hours h
            where h.hour_start >= $1
            group by h.model
            order by h.model
            """);
        command.Parameters.Add(new NpgsqlParameter { Value = since.UtcDateTime });
        var models = new List<ModelPromise>();
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            var waits = reader.IsDBNull(3) ? null : reader.GetFieldValue<long[]>(3);
            models.Add(new ModelPromise(reader.GetString(0), reader.GetInt64(1), reader.GetInt64(2), waits is null ? null : UsageDetail.Percentile(waits, 0.99)));
        }

        return models;
    }
}
