using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Testing;
using Marten;

namespace Lanes.Billing.Tests.Tenants;

public class TenancyTests(BillingHost host) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task Events_persist_and_project_into_the_tenants_read_models()
    {
        var tenant = await host.TenantWithActiveSubscription("pro");
        var issued = await host.KeyFor(tenant, budget: 7m);

        await using var query = host.Store.QuerySession(Tenant.MartenTenantOf(tenant.Id));
        var subscription = await query.LoadAsync<Subscription>(SubscriptionStreams.For(tenant.Id));
        var key = await query.LoadAsync<ApiKey>(issued.Key.Id);
        var events = await query.Events.FetchStreamAsync(tenant.Id);

        Assert.Equal(6, subscription!.ReservedLanesAt(host.Clock.GetUtcNow()));
        Assert.Equal(7m, key!.BudgetUsd);
        Assert.Equal(host.Get<KeyService>().HashOf(issued.Secret), key.SecretHash);
        Assert.Equal([typeof(TenantCreated), typeof(MemberAdded)], events.Select(e => e.EventType));
        Assert.Equal("owner@test.local", (await host.Get<TenantService>().FindAsync(tenant.Id))!.Members.Single().Email);
    }

    [Fact]
    public async Task An_invitation_link_adds_the_invited_person_once_and_is_then_spent()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var owner = tenant.Members.Single(m => m.Role == MemberRole.Owner);
        var tenants = host.Get<TenantService>();

        var (invitation, token) = await tenants.InviteAsync(tenant.Id, "dev@test.local", MemberRole.Admin, owner.UserId);
        var found = await tenants.FindInvitationAsync(token);
        var joined = await tenants.AcceptInvitationAsync(token, "user-dev", "dev@test.local");

        Assert.Equal((tenant.Id, invitation.Id), (found!.Value.Tenant.Id, found.Value.Invitation.Id));
        Assert.Equal(MemberRole.Admin, joined.FindMember("user-dev")!.Role);
        Assert.Equal("invitation_invalid", (await Assert.ThrowsAsync<RuleViolation>(() => tenants.AcceptInvitationAsync(token, "user-other", "dev@test.local"))).Code);
        Assert.Contains((await tenants.MembershipsOfAsync("user-dev")), m => m.Tenant.Id == tenant.Id && m.Role == MemberRole.Admin);
        Assert.Null(await tenants.FindInvitationAsync("not-a-token"));
    }

    [Fact]
    public async Task A_person_can_prefer_only_an_organisation_they_belong_to()
    {
        var me = $"user-{Guid.NewGuid():N}";
        var mine = await host.Get<TenantService>().CreateAsync($"m-{Guid.NewGuid():N}"[..20], "Mine", "test", (me, "me@test.local"));
        var theirs = await host.TenantWithActiveSubscription();

        await host.Get<TenantService>().PreferAsync(me, mine.Id);
        await Assert.ThrowsAsync<NotFound>(() => host.Get<TenantService>().PreferAsync(me, theirs.Id));

        Assert.Equal(mine.Id, await host.Get<TenantService>().PreferredOfAsync(me));
    }

    [Fact]
    public async Task A_session_for_one_tenant_cannot_read_another_tenants_data()
    {
        var a = await host.TenantWithActiveSubscription();
        var b = await host.TenantWithActiveSubscription();
        var keyOfA = await host.KeyFor(a);

        await using var asB = host.Store.QuerySession(Tenant.MartenTenantOf(b.Id));

        Assert.Null(await asB.LoadAsync<ApiKey>(keyOfA.Key.Id));
        Assert.Empty(await asB.Query<ApiKey>().ToListAsync());
        Assert.Empty(await asB.Events.FetchStreamAsync(keyOfA.Key.Id));
        Assert.Null(await host.Get<KeyService>().FindAsync(b.Id, keyOfA.Key.Id));
        await Assert.ThrowsAsync<NotFound>(() => host.Get<KeyService>().RevokeAsync(b.Id, keyOfA.Key.Id, RevocationReason.User, "b-user"));
        Assert.Equal(KeyState.Active, (await host.Get<KeyService>().FindAsync(a.Id, keyOfA.Key.Id))!.State);
    }

    [Fact]
    public async Task A_slug_is_taken_once_even_when_two_create_it_at_the_same_time()
    {
        var slug = $"race-{Guid.NewGuid():N}"[..16];
        var tenants = host.Get<TenantService>();

        var attempts = await Task.WhenAll(Enumerable.Range(0, 2).Select(async _ =>
        {
            try
            {
                await tenants.CreateAsync(slug, "Race", "test");
                return "created";
            }
            catch (RuleViolation e)
            {
                return e.Code;
            }
        }));

        Assert.Equal(["created", "slug_taken"], attempts.Order());
        Assert.NotNull(await tenants.FindBySlugAsync(slug));
    }

    [Fact]
    public async Task A_stale_write_is_rejected_by_optimistic_concurrency()
    {
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant);
        var martenTenant = Tenant.MartenTenantOf(tenant.Id);

        await using var first = host.Store.LightweightSession(martenTenant);
        await using var second = host.Store.LightweightSession(martenTenant);
        var one = await first.Events.FetchForWriting<ApiKey>(issued.Key.Id);
        var two = await second.Events.FetchForWriting<ApiKey>(issued.Key.Id);
        one.AppendOne(KeyDecisions.ChangeBudget(one.Aggregate!, 1m, "first", host.Clock.GetUtcNow()));
        two.AppendOne(KeyDecisions.ChangeBudget(two.Aggregate!, 2m, "second", host.Clock.GetUtcNow()));
        await first.SaveChangesAsync();

        await Assert.ThrowsAnyAsync<JasperFx.ConcurrencyException>(() => second.SaveChangesAsync());
        Assert.Equal(1m, (await host.Get<KeyService>().FindAsync(tenant.Id, issued.Key.Id))!.BudgetUsd);
    }

    [Fact]
    public async Task Members_see_the_tenants_they_belong_to_and_no_others()
    {
        var tenants = host.Get<TenantService>();
        var userId = $"user-{Guid.NewGuid():N}";
        var mine = await tenants.CreateAsync($"m-{Guid.NewGuid():N}"[..12], "Mine", "test", (userId, "me@test.local"));
        await tenants.CreateAsync($"o-{Guid.NewGuid():N}"[..12], "Other", "test", ("someone-else", "x@test.local"));

        var memberships = await tenants.MembershipsOfAsync(userId);

        var (entry, role) = Assert.Single(memberships);
        Assert.Equal((mine.Id, MemberRole.Owner), (entry.Id, role));
    }
}
