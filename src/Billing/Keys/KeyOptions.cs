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

