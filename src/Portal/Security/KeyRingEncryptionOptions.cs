using System.ComponentModel.DataAnnotations;

namespace Lanes.Portal.Security;

/// <summary>The key that encrypts the Data Protection key ring at rest (<c>DataProtection</c> section).</summary>
public sealed class KeyRingEncryptionOptions : IValidatableObject
{
    public const string Section = "DataProtection";

    /// <summary>32 random bytes, base64 (<c>openssl rand -base64 32</c>); kept with the other secrets, never in the
    /// database that holds the key ring.</summary>
    [Required(ErrorMessage = "DataProtection:KeyEncryptionKey is required: 32 random bytes in base64 (openssl rand -base64 32).")]
    public string KeyEncryptionKey { get; set; } = "";

    public byte[] KeyBytes => Convert.FromBase64String(KeyEncryptionKey);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // [Required] reports a missing key; the generated validator calls this regardless, and a null key would throw.
        if (string.IsNullOrEmpty(KeyEncryptionKey))
        {
            yield break;
        }

        var bytes = new byte[64];
        if (!Convert.TryFromBase64String(KeyEncryptionKey, bytes, out var length) || length != 32)
        {
            yield return new ValidationResult("DataProtection:KeyEncryptionKey must be exactly 32 bytes in base64 (openssl rand -base64 32).", [nameof(KeyEncryptionKey)]);
        }
    }
}
