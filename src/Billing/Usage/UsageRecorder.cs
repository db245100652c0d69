using Lanes.Billing.GatewayContract;
using Lanes.Billing.Infrastructure;
using Npgsql;

namespace Lanes.Billing.Usage;

/// <summary>
/// Records usage batches exactly once per batch id: a receipt per batch and two set-based upserts (key windows, key
/// hours) in one transaction, whatever the batch holds. Lines are summed here first, so each row is written once.
/// </summary>
/// <remarks>Note: usage is not an event on the key's stream. A key's stream carries what a person or a job decided
/// (issue, budget, revoke, window closed); usage is a stream of counts from a fleet, tens of thousands of lines a
/// second, and an event per line made every flush an expected-version append racing revocations and the window job.
/// </remarks>
public sealed class UsageRecorder(NpgsqlDataSource database, TimeProvider clock) : IUsageSink
{
    private const int Attempts = 20;
    private const string ApiKeys = $"{BillingStore.Schema}.mt_doc_apikey";
    private static readonly int Buckets = UsageDetail.QueueWaitBounds.Length + 1;
    private static readonly int Doors = Enum.GetValues<ApiDoor>().Length;

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

        var rows = UsageRows.Of(batches);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await TryRecordAsync(batches, rows, ct);
            }
            catch (PostgresException e) when (Conflicts.IsRetryable(e) && attempt < Attempts)
            {
                // PostgreSQL broke a deadlock between two flushes by aborting this one: nothing was written, so
                // write again, after a short random pause so the two do not collide again in step.
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, 5 * attempt)), ct); // Real time: a back-off, not business time.
            }
        }
    }

    private async Task<bool> TryRecordAsync(IReadOnlyList<UsageBatch> batches, UsageRows rows, CancellationToken ct)
    {
        var now = clock.GetUtcNow().UtcDateTime;
        await using var connection = await database.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var batch = new NpgsqlBatch(connection, transaction);

        // Receipts first, in id order: a batch being recorded elsewhere makes this one wait on its receipt, then
        // find it, rather than count twice.
        var ordered = batches.OrderBy(b => b.BatchId).ToArray();
        batch.BatchCommands.Add(Sql.Command(
            $"""
            insert into {UsageTables.Batches} (batch_id, source, lines, recorded_at)
            select r.id, r.source, r.lines, $4 from unnest($1::uuid[], $2::text[], $3::int[]) with ordinality as r(id, source, lines, n)
            order by r.n on conflict (batch_id) do nothing
            """,
            ordered.Select(b => b.BatchId).ToArray(), ordered.Select(b => b.Source).ToArray(), ordered.Select(b => b.Lines.Count).ToArray(), now));

        // Note: a line naming a key that is not its tenant's is dropped by the join, never recorded against a key
        // the tenant does not own. Rows are upserted in key order so concurrent flushes lock them in one order.
        batch.BatchCommands.Add(Sql.Command(
            $"""
            insert into {UsageTables.KeyWindows} as w (key_id, window_start, tenant_id, requests, input_tokens, output_tokens, spend_usd, throttled, last_recorded_at)
            select l.key_id, l.window_start, l.tenant_id, l.requests, l.input_tokens, l.output_tokens, l.spend_usd, l.throttled, $9
            from unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::bigint[], $5::bigint[], $6::bigint[], $7::numeric[], $8::bigint[])
                 as l(tenant_id, key_id, window_start, requests, input_tokens, output_tokens, spend_usd, throttled)
            join {ApiKeys} k on k.id = l.key_id and k.tenant_id = l.tenant_id::text
            order by l.key_id, l.window_start
            on conflict (key_id, window_start) do update set
                requests = w.requests + excluded.requests, input_tokens = w.input_tokens + excluded.input_tokens,
                output_tokens = w.output_tokens + excluded.output_tokens, spend_usd = w.spend_usd + excluded.spend_usd,
                throttled = w.throttled + excluded.throttled, last_recorded_at = greatest(w.last_recorded_at, excluded.last_recorded_at)
            """,
            rows.Windows.Select(w => w.TenantId).ToArray(), rows.Windows.Select(w => w.KeyId).ToArray(),
            rows.Windows.Select(w => w.WindowStart.UtcDateTime).ToArray(), rows.Windows.Select(w => w.Requests).ToArray(),
            rows.Windows.Select(w => w.InputTokens).ToArray(), rows.Windows.Select(w => w.OutputTokens).ToArray(),
            rows.Windows.Select(w => w.SpendUsd).ToArray(), rows.Windows.Select(w => w.Throttled).ToArray(), now));

        // The histograms travel flattened, one fixed-size slice per row (PostgreSQL's unnest would flatten a
        // two-dimensional array anyway); a row without detail has has_detail false and keeps its columns null.
        batch.BatchCommands.Add(Sql.Command(
            $"""
            insert into {UsageTables.Hours} as h (key_id, model, hour_start, tenant_id, requests, input_tokens, output_tokens, spend_usd, throttled,
                budget_refusals, request_refusals, lane_refusals, lane_seconds, queue_wait_counts, requests_by_api,
                within_reservation, honoured, reserved_wait_counts, peak_lanes)
            select l.key_id, l.model, l.hour_start, l.tenant_id, l.requests, l.input_tokens, l.output_tokens, l.spend_usd, l.throttled,
                   case when l.has_detail then l.budget_refusals end, case when l.has_detail then l.request_refusals end,
                   case when l.has_detail then l.lane_refusals end, case when l.has_detail then l.lane_seconds end,
                   case when l.has_detail then $15[(l.n - 1) * {Buckets} + 1 : l.n * {Buckets}] end,
                   case when l.has_detail then $16[(l.n - 1) * {Doors} + 1 : l.n * {Doors}] end,
                   case when l.has_detail then l.within_reservation end, case when l.has_detail then l.honoured end,
                   case when l.has_detail and l.within_reservation > 0 then $19[(l.n - 1) * {Buckets} + 1 : l.n * {Buckets}] end,
                   case when l.has_detail then l.peak_lanes end
            from unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::bigint[], $6::bigint[], $7::bigint[], $8::numeric[], $9::bigint[],
                        $10::boolean[], $11::bigint[], $12::bigint[], $13::bigint[], $14::float8[], $17::bigint[], $18::bigint[], $20::integer[]) with ordinality
                 as l(tenant_id, key_id, model, hour_start, requests, input_tokens, output_tokens, spend_usd, throttled,
                      has_detail, budget_refusals, request_refusals, lane_refusals, lane_seconds, within_reservation, honoured, peak_lanes, n)
            join {ApiKeys} k on k.id = l.key_id and k.tenant_id = l.tenant_id::text
            order by l.key_id, l.model, l.hour_start
            on conflict (key_id, model, hour_start) do update set
                requests = h.requests + excluded.requests, input_tokens = h.input_tokens + excluded.input_tokens,
                output_tokens = h.output_tokens + excluded.output_tokens, spend_usd = h.spend_usd + excluded.spend_usd,
                throttled = h.throttled + excluded.throttled,
                budget_refusals = {Sum("budget_refusals")}, request_refusals = {Sum("request_refusals")},
                lane_refusals = {Sum("lane_refusals")}, lane_seconds = {Sum("lane_seconds")},
                queue_wait_counts = {SumArrays("queue_wait_counts")}, requests_by_api = {SumArrays("requests_by_api")},
                within_reservation = {Sum("within_reservation")}, honoured = {Sum("honoured")},
                reserved_wait_counts = {SumArrays("reserved_wait_counts")},
                peak_lanes = case when h.peak_lanes is null and excluded.peak_lanes is null then null
                                  else greatest(coalesce(h.peak_lanes, 0), coalesce(excluded.peak_lanes, 0)) end
            """,
            rows.Hours.Select(h => h.TenantId).ToArray(), rows.Hours.Select(h => h.KeyId).ToArray(), rows.Hours.Select(h => h.Model).ToArray(),
            rows.Hours.Select(h => h.HourStart.UtcDateTime).ToArray(), rows.Hours.Select(h => h.Requests).ToArray(),
            rows.Hours.Select(h => h.InputTokens).ToArray(), rows.Hours.Select(h => h.OutputTokens).ToArray(),
            rows.Hours.Select(h => h.SpendUsd).ToArray(), rows.Hours.Select(h => h.Throttled).ToArray(),
            rows.Hours.Select(h => h.Detail is not null).ToArray(), rows.Hours.Select(h => h.Detail?.BudgetRefusals ?? 0).ToArray(),
            rows.Hours.Select(h => h.Detail?.RequestRefusals ?? 0).ToArray(), rows.Hours.Select(h => h.Detail?.LaneRefusals ?? 0).ToArray(),
            rows.Hours.Select(h => h.Detail?.LaneSeconds ?? 0).ToArray(),
            rows.Hours.SelectMany(h => Padded(h.Detail?.QueueWaitCounts, Buckets)).ToArray(),
            rows.Hours.SelectMany(h => Padded(h.Detail?.RequestsByApi, Doors)).ToArray(),
            rows.Hours.Select(h => h.Detail?.WithinReservation ?? 0).ToArray(), rows.Hours.Select(h => h.Detail?.Honoured ?? 0).ToArray(),
            rows.Hours.SelectMany(h => Padded(h.Detail?.ReservedWaitCounts, Buckets)).ToArray(),
            rows.Hours.Select(h => h.Detail?.PeakLanes ?? 0).ToArray()));

        await batch.ExecuteNonQueryAsync(ct);
        if (batch.BatchCommands[0].RecordsAffected < ordered.Length)
        {
            // A batch had been recorded before: write none of them (the caller sends them one by one).
            await transaction.RollbackAsync(ct);
            return false;
        }

        await transaction.CommitAsync(ct);
        return true;
    }

    /// <summary>Adds a detail column, where either side may be null (usage metered before detail was recorded).</summary>
    private static string Sum(string column) =>
        $"case when h.{column} is null and excluded.{column} is null then null else coalesce(h.{column}, 0) + coalesce(excluded.{column}, 0) end";

    /// <summary>Adds two arrays element by element; a missing side or element counts as zero.</summary>
    private static string SumArrays(string column) =>
        $"case when h.{column} is null and excluded.{column} is null then null " +
        $"else array(select coalesce(a, 0) + coalesce(b, 0) from unnest(h.{column}, excluded.{column}) as t(a, b)) end";

    private static IEnumerable<long> Padded(IReadOnlyList<long>? values, int length) =>
        Enumerable.Range(0, length).Select(i => values is not null && i < values.Count ? values[i] : 0);


    private static void Validate(UsageBatch batch)
    {
        if (batch.BatchId == Guid.Empty)
        {
            throw new RuleViolation("invalid_batch", "A usage batch has an id.");
        }

        if (string.IsNullOrEmpty(batch.Source) || batch.Source.Length > 200)
        {
            throw new RuleViolation("invalid_batch", "A usage batch names its source in 1 to 200 characters.");
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
