namespace Lanes.Portal.Api.Auth;

/// <summary>What a management client may be allowed to do; each API endpoint requires exactly one.</summary>
public static class ManagementScopes
{
    public const string KeysRead = "keys:read";
    public const string KeysWrite = "keys:write";
    public const string UsageRead = "usage:read";
    public const string BillingRead = "billing:read";

    public static readonly IReadOnlyDictionary<string, string> Descriptions = new Dictionary<string, string>
    {
        [KeysRead] = "List and read API keys (never their secrets).",
        [KeysWrite] = "Create, re-budget, rotate and revoke API keys.",
        [UsageRead] = "Read usage time series (JSON or CSV).",
        [BillingRead] = "Read the subscription, reserved lanes and billing details.",
    };

    public static IReadOnlyList<string> All { get; } = [KeysRead, KeysWrite, UsageRead, BillingRead];

    public static bool IsKnown(string scope) => Descriptions.ContainsKey(scope);
}

/// <summary>Claims Lanes puts in a management access token besides OpenIddict's own.</summary>
public static class ManagementClaims
{
    /// <summary>The tenant that owns the client (a Guid "D" string): every API call is scoped to it.</summary>
    public const string Tenant = "lanes_tenant";
}
