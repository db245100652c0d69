using JasperFx;
using Lanes.Billing.GatewayContract;
using Lanes.Billing.Infrastructure;
using Lanes.Billing.Keys;
using Lanes.Billing.Tenants;
using Marten;

namespace Lanes.Billing.Usage;

/// <summary>Appends usage batches to the keys' streams, exactly once per batch id.</summary>
public sealed class UsageRecorder(IDocumentStore store, StreamVersions streams, TimeProvider clock) : IUsageSink
{
    private const int Attempts = 20;

    /// <returns>True when the batch was recorded now; false when it had been recorded before.</returns>
    public Task<bool> RecordAsync(UsageBatch batch, CancellationToken ct = default) => RecordAllAsync([batch], ct);

    /// <summary>Records several batches in one transaction (a gateway's backlog after an outage): all of them, or,
    /// when any had been recorded before, none.</summary>
    /// <returns>True when all were recorded now; false when one had been recorded before (then nothing was written:
    /// send them one by one).</returns>
    public async Task<bool> RecordAllAsync(IReadOnlyList<UsageBatch> batches, CancellationToken ct = default)
    {
        foreach (var batch in batches)
        {
            Validate(batch);
        }

        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await TryRecordAsync(batches, ct);
            }
            catch (Exception e) when (Conflicts.IsRetryable(e) && attempt < Attempts)
            {
                // A key moved on (window job, revocation, another gateway's flush) between our read and our write:
                // read again, after a short random pause so writers that collided do not collide again in step.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 * attempt)), ct); // Real time: a back-off, not business time.
            }
        }
    }

    private async Task<bool> TryRecordAsync(IReadOnlyList<UsageBatch> batches, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var session = store.LightweightSession();
        foreach (var batch in batches)
        {
            session.Insert(new UsageBatchReceipt(batch.BatchId, batch.Source, batch.Lines.Count, now));
        }

        // Two round trips whatever the batches hold: which keys exist (and whose they are), then their versions.
        var lines = batches.SelectMany(b => b.Lines.Select(l => (b.BatchId, Line: l))).ToList();
        var keyIds = lines.Select(l => l.Line.KeyId).Distinct().ToArray();
        var tenants = lines.Select(l => Tenant.MartenTenantOf(l.Line.TenantId)).Distinct().ToArray();
        var owners = (await session.Query<ApiKey>().Where(k => k.TenantIsOneOf(tenants) && k.Id.IsOneOf(keyIds)).ToListAsync(ct))
            .ToDictionary(k => k.Id, k => k.TenantId);
        var versions = await streams.ReadAsync(tenants, owners.Keys, ct);

        foreach (var key in lines.GroupBy(l => (l.Line.TenantId, l.Line.KeyId)))
        {
            // Note: a line naming a key that is not the tenant's is dropped, never appended to a stream the tenant
            // does not own.
            if (!owners.TryGetValue(key.Key.KeyId, out var owner) || owner != key.Key.TenantId || !versions.TryGetValue(key.Key.KeyId, out var version))
            {
                continue;
            }

            var events = key.Select(l => (object)new UsageRecorded(
                l.Line.KeyId, l.BatchId, l.Line.Model, l.Line.WindowStart, l.Line.HourStart, l.Line.Requests, l.Line.InputTokens, l.Line.OutputTokens,
                l.Line.SpendUsd, l.Line.Throttled, now, l.Line.Detail)).ToArray();

            // Every writer of a key stream appends at an expected version, so the inline key status never loses
            // an update to a concurrent writer.
            session.ForTenant(Tenant.MartenTenantOf(owner)).Events.Append(key.Key.KeyId, version + events.Length, events);
        }

        try
        {
            await session.SaveChangesAsync(ct);
            return true;
        }
        catch (Exception e) when (!Conflicts.IsRetryable(e) && Conflicts.IsUniqueViolation(e))
        {
            // Only a receipt's key can be violated here: a key stream's version conflict surfaces as a
            // ConcurrencyException (retried above), never as "recorded before", so no usage is dropped for it.
            return false;
        }
    }

    private static void Validate(UsageBatch batch)
    {
        if (batch.BatchId == Guid.Empty)
        {
            throw new RuleViolation("invalid_batch", "A usage batch has an id.");
        }

        foreach (var l in batch.Lines)
        {
            if (l.Requests < 0 || l.InputTokens < 0 || l.OutputTokens < 0 || l.SpendUsd < 0 || l.Throttled < 0 || l.Detail is { IsValid: false })
            {
                throw new RuleViolation("invalid_batch", "Usage counts are never negative.");
            }
        }
    }
}
