using Lanes.Billing.Infrastructure;
using Weasel.Core;
using Weasel.Postgresql;
using Weasel.Postgresql.Tables;

namespace Lanes.Billing.Leases;

/// <summary>The lease pools' tables, declared as schema objects of the billing store so they are created and updated
/// with everything else Marten owns (at start, or by <c>./lanes admin migrate</c>).</summary>
internal static class LeaseTables
{
    public const string Pools = $"{BillingStore.Schema}.lease_pools";
    public const string Holds = $"{BillingStore.Schema}.lease_holds";
    public const string Holders = $"{BillingStore.Schema}.lease_holders";

    public static IEnumerable<ISchemaObject> All()
    {
        // What has been granted of each pool's window, in all.
        var pools = new Table(new PostgresqlObjectName(BillingStore.Schema, "lease_pools", SchemaUtils.IdentifierUsage.General));
        pools.AddColumn<string>("pool").AsPrimaryKey();
        pools.AddColumn("window_start", "timestamptz").AsPrimaryKey();
        pools.AddColumn("granted", "numeric").NotNull().DefaultValueByExpression("0");

        // When a holder last asked for more than was left: holders idle on the pool give back what they do not use.
        pools.AddColumn("wanted_at", "timestamptz");
        yield return pools;

        // Who holds it: each holder's part, and the ceiling it may spend without telling the database again.
        var holds = new Table(new PostgresqlObjectName(BillingStore.Schema, "lease_holds", SchemaUtils.IdentifierUsage.General));
        holds.AddColumn<string>("pool").AsPrimaryKey();
        holds.AddColumn("window_start", "timestamptz").AsPrimaryKey();
        holds.AddColumn<string>("holder").AsPrimaryKey();
        holds.AddColumn("held", "numeric").NotNull();
        holds.AddColumn("ceiling", "numeric").NotNull();
        holds.Indexes.Add(new IndexDefinition("lease_holds_holder") { Columns = ["holder"], Predicate = "held > ceiling" });
        yield return holds;

        // Each holder's heartbeat, by the database's clock.
        var holders = new Table(new PostgresqlObjectName(BillingStore.Schema, "lease_holders", SchemaUtils.IdentifierUsage.General));
        holders.AddColumn<string>("holder").AsPrimaryKey();
        holders.AddColumn("renewed_at", "timestamptz").NotNull();
        yield return holders;
    }
}
