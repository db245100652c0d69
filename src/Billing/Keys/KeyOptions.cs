using Microsoft.Extensions.Options;

namespace Lanes.Billing.Keys;

/// <summary>Key hashing and rotation (<c>Keys</c> section).</summary>
public sealed class KeyOptions
{
    public const string Section = "Keys";

    /// <summary>Base64 server-side secret for HMAC-SHA256 of API keys, at least 32 bytes.
    /// Note: changing it invalidates every issued key, so it is set once per deployment and kept secret.</summary>
    public string Pepper { get; set; } = "";

    /// <summary>How long the old secret keeps working after a rotation unless the caller says otherwise.</summary>
    public TimeSpan RotationGrace { get; set; } = TimeSpan.FromHours(24);

    public byte[] PepperBytes() => Convert.FromBase64String(Pepper);
}

public sealed class KeyOptionsValidator : IValidateOptions<KeyOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Pepper))
        {
            return ValidateOptionsResult.Fail("Keys:Pepper is required (base64, at least 32 bytes); ./lanes up generates one under .data/.");
        }

        var buffer = new byte[options.Pepper.Length];
        if (!Convert.TryFromBase64String(options.Pepper, buffer, out var length) || length < 32)
        {
            return ValidateOptionsResult.Fail("Keys:Pepper must be base64 of at least 32 bytes.");
        }

        return options.RotationGrace < TimeSpan.Zero || options.RotationGrace > TimeSpan.FromDays(7)
            ? ValidateOptionsResult.Fail("Keys:RotationGrace is between 0 and 7 days.")
            : ValidateOptionsResult.Success;
    }
}
