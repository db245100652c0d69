using Lanes.Billing.Payments;
using Lanes.Billing.Tenants;
using Marten;

namespace Lanes.Billing.BillingDetails;

/// <summary>Reads and changes a tenant's billing contact; in Stripe mode the change reaches the tenant's Stripe
/// customer too, so invoices carry the same name, address and email as Lanes shows.</summary>
public sealed class BillingContactService(IDocumentStore store, StripeBilling stripe, BillingModeInfo mode, TimeProvider clock)
{
    public async Task<BillingContact?> FindAsync(Guid tenantId, CancellationToken ct = default)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        return await query.LoadAsync<BillingContact>(tenantId, ct);
    }

    /// <summary>
    /// Note: Stripe is updated first, inside a transaction that holds a lock for the tenant, and Lanes stores the
    /// details only once Stripe accepted them. A refusal (an address Stripe rejects) changes nothing anywhere, and two
    /// owners saving at once cannot leave Lanes with one's details and Stripe with the other's.
    /// </summary>
    public async Task<BillingContact> UpdateAsync(Guid tenantId, BillingDetailsCommand command, string by, CancellationToken ct = default)
    {
        var contact = BillingDetailsDecisions.Decide(tenantId, command, by, clock.GetUtcNow());
        await using var session = store.LightweightSession(Tenant.MartenTenantOf(tenantId));
        await session.BeginTransactionAsync(ct);
        await session.QueryAsync<int>("select 1 from (select pg_advisory_xact_lock(?, ?)) as billing_contact_lock", ct, LockSpace, LockKeyOf(tenantId));
        if (mode.Mode == BillingMode.Stripe)
        {
            await stripe.UpdateCustomerAsync(tenantId, contact, command.CommandId == Guid.Empty ? Guid.NewGuid() : command.CommandId, ct);
        }

        session.Store(contact);
        await session.SaveChangesAsync(ct);
        return contact;
    }

    // The two-key form of PostgreSQL's advisory locks: this space, and a part of the tenant id (a collision only makes
    // two tenants' saves wait for each other).
    private const int LockSpace = 0x42444554; // "BDET"

    private static int LockKeyOf(Guid tenantId) => BitConverter.ToInt32(tenantId.ToByteArray(), 12);
}
