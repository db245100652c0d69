using Lanes.Billing.GatewayContract;
using Lanes.Billing.Keys;
using Lanes.Billing.Usage;
using Lanes.Testing;

namespace Lanes.Billing.Tests.Keys;

/// <summary>The feed gateways follow to learn of issued, changed and revoked keys.</summary>
public class KeyStatusFeedTests(BillingHost host) : IClassFixture<BillingHost>
{
    [Fact]
    public async Task A_follower_gets_each_changed_key_as_it_is_now_and_recorded_usage_is_not_a_change()
    {
        var feed = host.Get<IKeyStatusFeed>();
        var tenant = await host.TenantWithActiveSubscription();
        var issued = await host.KeyFor(tenant);
        var start = (await feed.LoadAllAsync(CancellationToken.None)).Position;

        await host.Get<KeyService>().RevokeAsync(tenant.Id, issued.Key.Id, RevocationReason.User, "owner");
        var revocation = await feed.ChangesAsync(start, [], CancellationToken.None);

        var revoked = Assert.Single(revocation.Keys);
        Assert.Equal((issued.Key.Id, KeyState.Revoked), (revoked.Id, revoked.State));
        Assert.Equal(Enumerable.Range(1, (int)(revocation.Position - start)).Select(i => start + i), revocation.Present.Order());

        var key = (await host.Get<KeyService>().FindAsync(tenant.Id, issued.Key.Id))!;
        await host.Get<UsageRecorder>().RecordAsync(new UsageBatch(Guid.NewGuid(), "feed-test",
        [
            new UsageLine(tenant.Id, key.Id, "lanes-demo", key.WindowStart, host.Clock.GetUtcNow(), 1, 10, 5, 0.01m, 0),
        ]));
        var usage = await feed.ChangesAsync(revocation.Position, [], CancellationToken.None);

        // Gateways count spend themselves: usage is recorded beside the key streams, so a flush wakes no follower.
        Assert.Equal(revocation.Position, usage.Position);
        Assert.Empty(usage.Keys);
        var reloaded = Assert.Single((await feed.LoadAllAsync(CancellationToken.None)).Keys, k => k.Id == key.Id);
        Assert.Equal(0.01m, reloaded.RecordedSpendIn(key.WindowStart));
    }

    [Fact]
    public async Task A_position_asked_for_again_is_read_again_with_what_it_holds()
    {
        var feed = host.Get<IKeyStatusFeed>();
        var tenant = await host.TenantWithActiveSubscription();
        var before = (await feed.LoadAllAsync(CancellationToken.None)).Position;
        var issued = await host.KeyFor(tenant);
        var after = (await feed.ChangesAsync(before, [], CancellationToken.None)).Position;

        // As a follower that read past these positions while their transaction was still open would ask.
        var awaited = Enumerable.Range(1, (int)(after - before)).Select(i => before + i).ToList();
        var again = await feed.ChangesAsync(after, awaited, CancellationToken.None);

        Assert.Contains(again.Keys, k => k.Id == issued.Key.Id);
        Assert.Equal(awaited, again.Present.Order());
    }
}
