using Lanes.Billing.Keys;

namespace Lanes.Billing.Tests.Keys;

public class KeySpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);
    private static readonly TimeSpan EightHours = TimeSpan.FromHours(8);

    private static ApiKeyIssued Issue(KeyRequest request) => KeyDecisions.Issue(
        Guid.NewGuid(), Guid.NewGuid(), request, defaultBudgetUsd: 20m, defaultWindow: EightHours,
        knownModel: m => m is "lanes-demo" or "other", prefix: "lanes_abcdefgh", secretHash: "hash", createdBy: "dev", now: Now);

    private static ApiKey Key(decimal budget = 20m) => ApiKey.Create(Issue(new KeyRequest("ci", budget)));

    [Fact]
    public void A_new_key_takes_the_plan_defaults_and_opens_the_current_window()
    {
        var key = ApiKey.Create(Issue(new KeyRequest("  ci  ")));

        Assert.Equal("ci", key.Name);
        Assert.Equal(20m, key.BudgetUsd);
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 8, 0, 0, TimeSpan.Zero), key.WindowStart);
        Assert.Equal(new DateTimeOffset(2026, 11, 2, 16, 0, 0, TimeSpan.Zero), key.WindowEnd);
        Assert.True(key.IsUsableAt(Now));
        Assert.True(key.ToStatus().AllowsModel("anything"));
    }

    [Theory]
    [InlineData("", null, null, null, "invalid_name")]
    [InlineData("ci", -1.0, null, null, "invalid_budget")]
    [InlineData("ci", 2000000.0, null, null, "invalid_budget")]
    [InlineData("ci", null, 0, null, "invalid_window")]
    [InlineData("ci", null, null, -5, "expiry_in_past")]
    public void Invalid_requests_are_refused_with_a_reason(string name, double? budget, int? windowMinutes, int? expiresInMinutes, string code)
    {
        var request = new KeyRequest(name, (decimal?)budget, windowMinutes is { } m ? TimeSpan.FromMinutes(m) : null,
            expiresInMinutes is { } e ? Now.AddMinutes(e) : null);

        Assert.Equal(code, Assert.Throws<RuleViolation>(() => Issue(request)).Code);
    }

    [Fact]
    public void An_allow_list_may_only_name_priced_models()
    {
        var error = Assert.Throws<RuleViolation>(() => Issue(new KeyRequest("ci", Models: ["lanes-demo", "gpt-9"])));

        Assert.Equal("unknown_model", error.Code);
        Assert.Contains("gpt-9", error.Message);
        var key = ApiKey.Create(Issue(new KeyRequest("ci", Models: ["lanes-demo", "lanes-demo"])));
        Assert.Equal(["lanes-demo"], key.Models);
        Assert.False(key.ToStatus().AllowsModel("other"));
    }

    [Fact]
    public void A_budget_change_mid_window_applies_to_the_spend_already_made()
    {
        var key = Spent(Key(budget: 10m), 6m);

        var lowered = key.Apply(KeyDecisions.ChangeBudget(key, 5m, "dev", Now));

        Assert.Equal(6m, lowered.WindowSpentUsd);
        Assert.Equal(0m, lowered.RemainingUsd);
    }

    [Fact]
    public void A_revoked_key_stays_revoked()
    {
        var revoked = Key().Apply(KeyDecisions.Revoke(Key(), RevocationReason.User, "dev", Now));

        Assert.False(revoked.IsUsableAt(Now));
        Assert.Equal("key_revoked", Assert.Throws<RuleViolation>(() => KeyDecisions.Revoke(revoked, RevocationReason.Staff, "staff", Now)).Code);
        Assert.Equal("key_revoked", Assert.Throws<RuleViolation>(() => KeyDecisions.ChangeBudget(revoked, 1m, "dev", Now)).Code);
    }

    [Fact]
    public void Rotation_keeps_the_old_secret_for_the_grace_period()
    {
        var rotated = Key().Apply(KeyDecisions.Rotate(Key(), "lanes_newprefix", "new-hash", TimeSpan.FromHours(1), "dev", Now));

        Assert.Equal("new-hash", rotated.SecretHash);
        Assert.Equal("hash", rotated.PreviousSecretHash);
        Assert.Equal(Now.AddHours(1), rotated.PreviousSecretValidUntil);
        Assert.Equal("invalid_grace", Assert.Throws<RuleViolation>(() => KeyDecisions.Rotate(Key(), "p", "h", TimeSpan.FromDays(8), "dev", Now)).Code);
    }

    [Fact]
    public void A_key_past_its_expiry_is_not_usable()
    {
        var key = ApiKey.Create(Issue(new KeyRequest("ci", ExpiresAt: Now.AddHours(1))));

        Assert.True(key.IsUsableAt(Now.AddMinutes(59)));
        Assert.False(key.IsUsableAt(Now.AddHours(1)));
    }

    [Fact]
    public void Rolling_a_window_records_its_totals_and_opens_the_window_containing_now()
    {
        var key = Spent(Key(), 4m);
        Assert.Null(KeyDecisions.RollWindow(key, key.WindowEnd.AddSeconds(-1)));

        var later = key.WindowEnd.AddHours(17); // two idle windows skipped
        var closed = KeyDecisions.RollWindow(key, later)!;
        var rolled = key.Apply(closed);

        Assert.Equal((4m, 2L, key.WindowStart), (closed.SpentUsd, closed.Requests, closed.Start));
        Assert.Equal(new DateTimeOffset(2026, 11, 3, 8, 0, 0, TimeSpan.Zero), rolled.WindowStart);
        Assert.Equal(0m, rolled.WindowSpentUsd);
        Assert.Equal(key.BudgetUsd, rolled.RemainingUsd);
    }

    /// <summary>The key as billing reads it with usage recorded in its window.</summary>
    private static ApiKey Spent(ApiKey key, decimal spend) => key with { Usage = new WindowUsage(key.WindowStart, spend, 2, 100, 50, 0) };
}
