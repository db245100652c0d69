using JasperFx;
using Lanes.Billing.Infrastructure;
using Lanes.Billing.Keys;
using Lanes.Billing.Tenants;
using Marten;

namespace Lanes.Billing.Usage;

/// <summary>Appends usage batches to the keys' streams, exactly once per batch id.</summary>
public sealed class UsageRecorder(IDocumentStore store, StreamVersions streams, TimeProvider clock)
{
    private const int Attempts = 20;

    /// <returns>True when the batch was recorded now; false when it had been recorded before.</returns>
    public async Task<bool> RecordAsync(UsageBatch batch, CancellationToken ct = default)
    {
        Validate(batch);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await TryRecordAsync(batch, ct);
            }
            catch (Exception e) when (Conflicts.IsRetryable(e) && attempt < Attempts)
            {
                // A key moved on (window job, revocation, another gateway's flush) between our read and our write:
                // read again, after a short random pause so writers that collided do not collide again in step.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 * attempt)), ct); // Real time: a back-off, not business time.
            }
        }
    }

    private async Task<bool> TryRecordAsync(UsageBatch batch, CancellationToken ct)
    {
        var now = clock.GetUtcNow();
        await using var session = store.LightweightSession();
        session.Insert(new UsageBatchReceipt(batch.BatchId, batch.Source, batch.Lines.Count, now));

        // Two round trips whatever the batch holds: which keys exist (and whose they are), then their versions.
        var keyIds = batch.Lines.Select(l => l.KeyId).Distinct().ToArray();
        var tenants = batch.Lines.Select(l => Tenant.MartenTenantOf(l.TenantId)).Distinct().ToArray();
        var owners = (await session.Query<ApiKey>().Where(k => k.TenantIsOneOf(tenants) && k.Id.IsOneOf(keyIds)).ToListAsync(ct))
            .ToDictionary(k => k.Id, k => k.TenantId);
        var versions = await streams.ReadAsync(tenants, owners.Keys, ct);

        foreach (var key in batch.Lines.GroupBy(l => (l.TenantId, l.KeyId)))
        {
            // Note: a line naming a key that is not the tenant's is dropped, never appended to a stream the tenant
            // does not own.
            if (!owners.TryGetValue(key.Key.KeyId, out var owner) || owner != key.Key.TenantId || !versions.TryGetValue(key.Key.KeyId, out var version))
            {
                continue;
            }

            var events = key.Select(l => (object)new UsageRecorded(
                l.KeyId, batch.BatchId, l.Model, l.WindowStart, l.HourStart, l.Requests, l.InputTokens, l.OutputTokens,
                l.SpendUsd, l.Throttled, now, l.Detail)).ToArray();

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
            // Only the receipt's key can be violated here: a key stream's version conflict surfaces as a
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
