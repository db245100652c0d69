using JasperFx.Events;
using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Shared.Plans;
using Marten;

namespace Lanes.Billing.Support;

/// <summary>A tenant found by the support search, and why it matched.</summary>
public sealed record SupportHit(TenantDirectoryEntry Tenant, string Match);

/// <summary>One line of a tenant's history: when, which stream, what happened in words, and who did it (a user id,
/// "system", or a process).</summary>
public sealed record TimelineEntry(DateTimeOffset At, long Sequence, string Stream, string What, string? By);

/// <summary>
/// The support console's reads. Note: these are the only queries that cross tenants, and their names say so;
/// everything else in the portal reads in the caller's tenant.
/// </summary>
public sealed class SupportQueries(IDocumentStore store, KeyService keys, PlanCatalog plans)
{
    /// <summary>Tenants whose name or slug contains the text, who have a member with that email, or who own a key
    /// with that prefix.</summary>
    public async Task<IReadOnlyList<SupportHit>> SearchAcrossTenantsAsync(string text, CancellationToken ct = default)
    {
        text = text.Trim();
        if (text.Length < 2)
        {
            return [];
        }

        await using var query = store.QuerySession();
        var hits = new Dictionary<Guid, SupportHit>();
        var lower = text.ToLowerInvariant();
        foreach (var t in await query.Query<TenantDirectoryEntry>()
                     .Where(t => t.Slug.Contains(lower) || t.Name.Contains(text, StringComparison.OrdinalIgnoreCase)).Take(50).ToListAsync(ct))
        {
            hits.TryAdd(t.Id, new SupportHit(t, "name"));
        }

        if (text.Contains('@'))
        {
            var withMember = await query.Query<Tenant>().Where(t => t.AnyTenant() && t.Members.Any(m => m.Email == text)).Take(50).ToListAsync(ct);
            var ids = withMember.Select(t => t.Id).ToArray();
            foreach (var t in await query.Query<TenantDirectoryEntry>().Where(d => d.Id.IsOneOf(ids)).ToListAsync(ct))
            {
                hits.TryAdd(t.Id, new SupportHit(t, $"member {text}"));
            }
        }

        var byKey = await keys.FindAcrossTenantsAsync(text, ct);
        if (byKey.Count > 0)
        {
            var ids = byKey.Select(k => k.TenantId).Distinct().ToArray();
            foreach (var t in await query.Query<TenantDirectoryEntry>().Where(d => d.Id.IsOneOf(ids)).ToListAsync(ct))
            {
                hits.TryAdd(t.Id, new SupportHit(t, $"key {byKey.First(k => k.TenantId == t.Id).Prefix}…"));
            }
        }

        return [.. hits.Values.OrderBy(h => h.Tenant.Name)];
    }

    /// <summary>The tenant's, subscription's and keys' events, newest first, in plain language. Metering and window
    /// roll-overs are left out: they are usage, not changes.</summary>
    public async Task<IReadOnlyList<TimelineEntry>> TimelineAsync(Guid tenantId, int limit = 200, CancellationToken ct = default)
    {
        await using var query = store.QuerySession(Tenant.MartenTenantOf(tenantId));
        var keyNames = (await query.Query<ApiKey>().Select(k => new { k.Id, k.Name }).ToListAsync(ct)).ToDictionary(k => k.Id, k => k.Name);
        var graph = (Marten.Events.EventGraph)store.Options.Events;
        string[] noise = [graph.EventMappingFor(typeof(UsageRecorded)).EventTypeName, graph.EventMappingFor(typeof(BudgetWindowClosed)).EventTypeName];
        var events = await query.Events.QueryAllRawEvents()
            .Where(e => !e.EventTypeName.IsOneOf(noise))
            .OrderByDescending(e => e.Sequence)
            .Take(limit)
            .ToListAsync(ct);
        return [.. events.Select(e => Describe(e, tenantId, keyNames, plans))];
    }

    internal static TimelineEntry Describe(IEvent e, Guid tenantId, IReadOnlyDictionary<Guid, string> keyNames, PlanCatalog plans)
    {
        // A plan by the name customers see; a retired plan the catalog no longer has keeps its id.
        string Plan(string id) => plans.Find(id)?.Name ?? id;

        var stream = e.StreamId == tenantId ? "organisation"
            : e.StreamId == SubscriptionStreams.For(tenantId) ? "subscription"
            : $"key {keyNames.GetValueOrDefault(e.StreamId, e.StreamId.ToString("N")[..8])}";
        var (what, by) = e.Data switch
        {
            TenantCreated x => ($"Organisation {x.Name} ({x.Slug}) created", x.CreatedBy),
            MemberAdded x => ($"{x.Email} joined as {Lower(x.Role)}", x.AddedBy),
            MemberRoleChanged x => ($"A member's role changed from {Lower(x.From)} to {Lower(x.To)}", x.ChangedBy),
            MemberRemoved x => ($"A member was removed", x.RemovedBy),
            MemberInvited x => ($"{x.Email} invited as {Lower(x.Role)}", x.InvitedBy),
            InvitationRevoked x => ("An invitation was withdrawn", x.RevokedBy),
            InvitationAccepted x => ($"{x.Email} accepted the invitation", x.UserId),
            SubscriptionStarted x => ($"Subscription started on {Plan(x.PlanId)} ({x.PlanLanes} lanes, {Lower(x.Status)}) until {x.PeriodEnd:d MMM yyyy}", x.StartedBy),
            PlanChanged x => ($"Plan changed from {Plan(x.From)} to {Plan(x.To)} ({x.PlanLanes} lanes)", x.ChangedBy),
            PlanChangeScheduled x => ($"Change from {Plan(x.From)} to {Plan(x.To)} scheduled for {x.EffectiveAt:d MMM yyyy HH:mm} UTC", x.ScheduledBy),
            SubscriptionRenewed x => ($"Period extended to {x.PeriodEnd:d MMM yyyy}", x.RenewedBy),
            PaymentFailed x => ($"Payment failed: {x.Reason}", null),
            GracePeriodStarted x => ($"Grace period with {x.ReducedLanes} lanes until {x.GraceEndsAt:d MMM yyyy HH:mm} UTC", null),
            PaymentRecovered => ("Payment recovered: full reservation restored", null),
            CancellationScheduled x => ($"Cancellation scheduled for {x.EndsAt:d MMM yyyy}", x.ScheduledBy),
            CancellationResumed x => ("Cancellation withdrawn", x.ResumedBy),
            SubscriptionEnded x => ($"Subscription ended ({x.Reason})", x.EndedBy),
            ReservationAdjusted x => ($"Reservation set to {x.Lanes} lanes{(x.Until is { } u ? $" until {u:d MMM yyyy HH:mm} UTC" : "")}: {x.Reason}", x.StaffId),
            ReservationOverrideExpired x => ($"Reservation override of {x.Lanes} lanes expired", null),
            SubscriptionPaused x => ("Subscription paused", x.PausedBy),
            SubscriptionUnpaused x => ("Subscription resumed from pause", x.UnpausedBy),
            StripeSubscriptionLinked x => ($"Linked to Stripe subscription {x.SubscriptionId}", null),
            ApiKeyIssued x => ($"Key {x.Name} ({x.Prefix}…) created with ${x.BudgetUsd:0.##} per window", x.CreatedBy),
            KeyBudgetChanged x => ($"Budget changed from ${x.From:0.##} to ${x.To:0.##}", x.ChangedBy),
            ApiKeyRotated x => ($"Secret rotated (new prefix {x.Prefix}…; the old one works until {x.PreviousSecretValidUntil:d MMM HH:mm} UTC)", x.RotatedBy),
            ApiKeyRevoked x => ($"Key revoked ({x.Reason})", x.RevokedBy),
            ApiKeyRestored x => ($"Key restored ({x.Reason.Replace('_', ' ')})", x.RestoredBy),
            SubscriptionRestored x => ($"Subscription restored ({x.Reason.Replace('_', ' ')}) after it ended on {x.EndedAt:d MMM yyyy HH:mm} UTC", null),
            UnknownStripePriceFound { PriceId: { } price } x => ($"Stripe bills {x.SubscriptionId} at price {price}, which no plan knows: map it in Stripe:LegacyPrices", null),
            UnknownStripePriceFound => ("The Stripe price is known again", null),
            DuplicateStripeSubscriptionCanceled { AmountRefunded: > 0, Currency: { } currency } x =>
                ($"Second Stripe subscription {x.SubscriptionId} canceled (kept {x.KeptSubscriptionId}) and its {Lanes.Shared.Money.MinorUnits.Format(x.AmountRefunded, currency)} refunded", null),
            DuplicateStripeSubscriptionCanceled x => ($"Second Stripe subscription {x.SubscriptionId} canceled (kept {x.KeptSubscriptionId}); no paid payment was found to refund: check it in Stripe", null),
            ScheduledPlanChangeCanceled x => ($"Scheduled change to {Plan(x.To)} undone: the plan stays", x.CanceledBy),
            PaymentCollectionPaused x => ($"Stripe paused collecting payment ({x.Behavior.Replace('_', ' ')}){(x.ResumesAt is { } r ? $" until {r:d MMM yyyy}" : "")}: the lanes go on", null),
            PaymentCollectionResumed => ("Stripe collects payment again", null),
            PaymentRefunded x => ($"Refunded {Lanes.Shared.Money.MinorUnits.Format(x.AmountRefunded, x.Currency)} of charge {x.ChargeId}", null),
            PaymentDisputed x => ($"Charge {x.ChargeId} disputed ({x.Reason.Replace('_', ' ')}, {Lanes.Shared.Money.MinorUnits.Format(x.Amount, x.Currency)}): {x.Status.Replace('_', ' ')}", null),
            CapacityOverbooked x => ($"Overbooked: Stripe started {x.Lanes} paid lanes with {x.FreeLanes} free; add capacity or settle with the customer", null),
            StripeSubscriptionCanceled x => ($"Stripe subscription {x.SubscriptionId} canceled ({x.Reason.Replace('_', ' ')})", null),
            LaneCredits.LanePeriodAssessed { CreditUsd: > 0 } x =>
                ($"Lane objective missed from {x.PeriodStart:d MMM yyyy} to {x.PeriodEnd:d MMM yyyy}: {x.Honoured:N0} of {x.WithinReservation:N0} requests within the reservation started on time ({x.HonouredPercent:0.###} % against {x.TargetPercent:0.###} %); credited ${x.CreditUsd:N2} ({x.CreditPercent:0.#} % of ${x.MonthlyFeeUsd:N2}){(x.StripeBalanceTransactionId is { } t ? $" as Stripe balance transaction {t}" : "")}", null),
            LaneCredits.LanePeriodAssessed x =>
                ($"Lane objective met from {x.PeriodStart:d MMM yyyy} to {x.PeriodEnd:d MMM yyyy}: {x.Honoured:N0} of {x.WithinReservation:N0} requests within the reservation started on time ({x.HonouredPercent:0.###} % against {x.TargetPercent:0.###} %); no credit", null),
            LaneCredits.ServiceCreditGranted x => ($"Service credit of ${x.AmountUsd:N2} granted: {x.Reason}", x.StaffId),
            LaneCredits.ServiceCreditReversed x => ($"Service credit of ${x.AmountUsd:N2} reversed: {x.Reason}", x.StaffId),
            _ => (e.EventTypeName.Replace('_', ' '), null),
        };
        return new TimelineEntry(e.Timestamp, e.Sequence, stream, what, by);
    }

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}
