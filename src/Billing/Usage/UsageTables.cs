using Lanes.Billing.Infrastructure;
using Weasel.Core;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Lanes.Billing.Usage;

/// <summary>
/// Where usage is recorded: plain tables built for ingest, applied with the rest of the billing store's schema.
/// A batch is one receipt row plus set-based upserts into two roll-ups (per key and window, per key, model and hour),
/// so a flush of thousands of key-lines costs a handful of statements, not an event per line.
/// </summary>
/// <remarks>Note: the raw lines are not kept. The hourly roll-up is the finest grain anything reads (charts, exports,
/// support), and a fleet sends tens of thousands of lines a second; the receipt keeps which batch came from where.
/// </remarks>
internal static class UsageTables
{
    public const string Batches = $"{BillingStore.Schema}.usage_batches";
    public const string KeyWindows = $"{BillingStore.Schema}.usage_key_windows";
    public const string Hours = $"{BillingStore.Schema}.usage_hours";

    public static IEnumerable<ISchemaObject> All()
    {
        // One row per batch ever recorded: its id is the gateway's batch id, so a retried batch finds its receipt.
        var batches = new Table(new PostgresqlObjectName(BillingStore.Schema, "usage_batches", SchemaUtils.IdentifierUsage.General));
        batches.AddColumn<Guid>("batch_id").AsPrimaryKey();
        batches.AddColumn<string>("source").NotNull();
        batches.AddColumn<int>("lines").NotNull();
        batches.AddColumn("recorded_at", "timestamptz").NotNull();
        yield return batches;

        // A key's totals per budget window: what its budget, the key pages and the window job read.
        var windows = new Table(new PostgresqlObjectName(BillingStore.Schema, "usage_key_windows", SchemaUtils.IdentifierUsage.General));
        windows.AddColumn<Guid>("key_id").AsPrimaryKey();
        windows.AddColumn("window_start", "timestamptz").AsPrimaryKey();
        windows.AddColumn<Guid>("tenant_id").NotNull();
        AddCounts(windows);
        windows.AddColumn("last_recorded_at", "timestamptz").NotNull();
        yield return windows;

        // Usage per key, model and UTC hour: what the usage charts and exports read, always for one tenant.
        var hours = new Table(new PostgresqlObjectName(BillingStore.Schema, "usage_hours", SchemaUtils.IdentifierUsage.General));
        hours.AddColumn<Guid>("key_id").AsPrimaryKey();
        hours.AddColumn<string>("model").AsPrimaryKey();
        hours.AddColumn("hour_start", "timestamptz").AsPrimaryKey();
        hours.AddColumn<Guid>("tenant_id").NotNull();
        AddCounts(hours);

        // The detail (refusals by cause, lane time, queue-wait histogram, requests per API); null in usage metered
        // before gateways recorded it.
        hours.AddColumn("budget_refusals", "bigint");
        hours.AddColumn("request_refusals", "bigint");
        hours.AddColumn("lane_refusals", "bigint");
        hours.AddColumn("lane_seconds", "double precision");
        hours.AddColumn("queue_wait_counts", "bigint[]");
        hours.AddColumn("requests_by_api", "bigint[]");

        // The lane promise: requests within their tenant's reservation, those honoured, and their admission waits
        // (null in usage recorded before it was counted).
        hours.AddColumn("within_reservation", "bigint");
        hours.AddColumn("honoured", "bigint");
        hours.AddColumn("reserved_wait_counts", "bigint[]");

        // The most lanes the tenant had running at once in the hour (null in usage recorded before it was counted).
        hours.AddColumn("peak_lanes", "integer");
        hours.Indexes.Add(new IndexDefinition("usage_hours_tenant_hour") { Columns = ["tenant_id", "hour_start"] });
        yield return hours;
    }

    private static void AddCounts(Table table)
    {
        table.AddColumn("requests", "bigint").NotNull();
        table.AddColumn("input_tokens", "bigint").NotNull();
        table.AddColumn("output_tokens", "bigint").NotNull();
        table.AddColumn("spend_usd", "numeric").NotNull();
        table.AddColumn("throttled", "bigint").NotNull();
    }
}
