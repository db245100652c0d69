using System.ComponentModel.DataAnnotations;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.XmlEncryption;
using Microsoft.Extensions.Options;

namespace Lanes.Portal.Security;

/// <summary>
/// Encrypts each Data Protection key with AES-256-GCM before it is stored. Note: the key ring protects sign-in
/// cookies, antiforgery tokens and password-reset tokens; stored in clear, anyone who can read the database could
/// forge a session for any account, staff included.
/// </summary>
public sealed class AesGcmXmlEncryptor(byte[] key) : IXmlEncryptor
{
    private const int NonceSize = 12;
    private const int TagSize = 16;

    public EncryptedXmlInfo Encrypt(XElement plaintextElement)
    {
        var plaintext = Encoding.UTF8.GetBytes(plaintextElement.ToString(SaveOptions.DisableFormatting));
        var sealedBytes = new byte[NonceSize + TagSize + plaintext.Length];
        var nonce = sealedBytes.AsSpan(0, NonceSize);
        RandomNumberGenerator.Fill(nonce);
        using var aes = new AesGcm(key, TagSize);
        aes.Encrypt(nonce, plaintext, sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize));
        var element = new XElement("encryptedKey",
            new XComment(" AES-256-GCM with DataProtection:KeyEncryptionKey: nonce, tag, ciphertext "),
            new XElement("value", Convert.ToBase64String(sealedBytes)));
        return new EncryptedXmlInfo(element, typeof(AesGcmXmlDecryptor));
    }

    public static XElement Decrypt(byte[] key, XElement encryptedElement)
    {
        var sealedBytes = Convert.FromBase64String((string?)encryptedElement.Element("value") ?? throw new CryptographicException("The encrypted key has no value."));
        var plaintext = new byte[sealedBytes.Length - NonceSize - TagSize];
        using var aes = new AesGcm(key, TagSize);
        aes.Decrypt(sealedBytes.AsSpan(0, NonceSize), sealedBytes.AsSpan(NonceSize + TagSize), sealedBytes.AsSpan(NonceSize, TagSize), plaintext);
        return XElement.Parse(Encoding.UTF8.GetString(plaintext));
    }
}

/// <summary>Created by Data Protection's activator (by type name from the stored XML), hence the service provider.</summary>
public sealed class AesGcmXmlDecryptor(IServiceProvider services) : IXmlDecryptor
{
    public XElement Decrypt(XElement encryptedElement) =>
        AesGcmXmlEncryptor.Decrypt(services.GetRequiredService<IOptions<KeyRingEncryptionOptions>>().Value.KeyBytes, encryptedElement);
}

public static class KeyRingEncryption
{
    public static IServiceCollection AddKeyRingEncryption(this IServiceCollection services)
    {
        services.AddOptions<KeyRingEncryptionOptions>().BindConfiguration(KeyRingEncryptionOptions.Section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<KeyRingEncryptionOptions>, KeyRingEncryptionOptionsValidator>();
        services.AddOptions<KeyManagementOptions>().Configure<IOptions<KeyRingEncryptionOptions>>((o, encryption) =>
            o.XmlEncryptor = new AesGcmXmlEncryptor(encryption.Value.KeyBytes));
        return services;
    }
}
