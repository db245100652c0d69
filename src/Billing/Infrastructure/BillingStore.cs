using JasperFx.Events;
using JasperFx.Events.Projections;
using JasperFx.MultiTenancy;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Billing.Usage;
using Marten;

namespace Lanes.Billing.Infrastructure;

/// <summary>The Marten configuration of the billing store, shared by every host and by the tests.</summary>
public static class BillingStore
{
    public const string Schema = "lanes";

    public static void Configure(StoreOptions opts, string connectionString)
    {
        opts.Connection(connectionString);
        opts.DatabaseSchemaName = Schema;
        opts.Events.DatabaseSchemaName = Schema;

        // Note: tenancy is structural. Every stream and document belongs to a tenant unless listed below as
        // global; a session opened for one tenant cannot read another's.
        opts.Events.TenancyStyle = TenancyStyle.Conjoined;
        opts.Policies.AllDocumentsAreMultiTenanted();
        opts.Events.StreamIdentity = StreamIdentity.AsGuid;

        opts.Schema.For<TenantDirectoryEntry>().SingleTenanted().UniqueIndex(x => x.Slug);
        opts.Schema.For<PreferredTenant>().SingleTenanted();
        opts.Schema.For<Occupancy.GatewayOccupancy>().SingleTenanted();
        opts.Schema.For<Capacity.PendingReservation>().SingleTenanted();
        opts.Schema.For<Capacity.PlannedFleet>().SingleTenanted();
        opts.Schema.For<Capacity.CapacitySnapshot>().SingleTenanted().Index(x => x.At);
        opts.Schema.For<Payments.StripePortalConfiguration>().SingleTenanted();
        opts.Schema.For<Status.StatusIncident>().SingleTenanted().Index(x => x.StartedAt);
        opts.Schema.For<ApiKey>().Index(x => x.SecretHash).Index(x => x.Prefix).Index(x => x.WindowEnd);
        opts.Schema.For<Subscription>().Index(x => x.Status);
        opts.Schema.For<BillingDetails.BillingContact>();
        opts.Schema.For<Notices.BillingNotice>().Index(x => x.SentAt);

        // Note: every document type is listed, so `lanes migrate` creates its table: hosts that run without schema
        // rights (Database:ApplySchema=false) cannot create one the first time they store it.
        opts.Schema.For<Payments.StripeCustomerRecord>();
        opts.Schema.For<Payments.StripeEventReceipt>();
        opts.Schema.For<Payments.StripeCheckoutRecord>();
        opts.Schema.For<Payments.BillingDocument>();

        // Tables Marten does not derive from a document, applied with the rest.
        opts.Storage.ExtendedSchemaObjects.AddRange(Leases.LeaseTables.All());
        opts.Storage.ExtendedSchemaObjects.AddRange(UsageTables.All());

        opts.Projections.Snapshot<Tenants.Tenant>(SnapshotLifecycle.Inline);
        opts.Projections.Snapshot<Subscription>(SnapshotLifecycle.Inline);
        opts.Projections.Snapshot<ApiKey>(SnapshotLifecycle.Inline);
    }
}
