using System.ComponentModel.DataAnnotations;

namespace Lanes.Portal.Security;

/// <summary>How often one address or one account may try the doors people attack (<c>RateLimits</c> section).
/// Note: sign-ins are also limited per account by Identity's lockout; these limits stop one address from trying
/// many accounts, or from creating accounts by the hundred.</summary>
public sealed class RateLimitOptions
{
    public const string Section = "RateLimits";

    [Range(1, 1_000_000)]
    public int SignUpsPerHourPerAddress { get; set; } = 10;

    [Range(1, 1_000_000)]
    public int SignInsPerMinutePerAddress { get; set; } = 20;

    [Range(1, 1_000_000)]
    public int EmailsPerHourPerAddress { get; set; } = 10;

    /// <summary>Password reset and confirmation emails one account may be sent in an hour, whoever asks.</summary>
    [Range(1, 1_000_000)]
    public int EmailsPerHourPerAccount { get; set; } = 3;

    [Range(1, 1_000_000)]
    public int TokensPerMinutePerAddress { get; set; } = 60;

    [Range(1, 1_000_000)]
    public int BillingCallsPerMinutePerUser { get; set; } = 60;
}
