using System.Security.Cryptography;
using System.Text;

namespace Lanes.Shared.Keys;

/// <summary>
/// The format of API key secrets: <c>lanes_</c> + 43 base64url characters (256 bits from the OS CSPRNG).
/// Note: only <see cref="Hash"/> of a secret is ever stored; the secret itself is shown once.
/// </summary>
public static class ApiKeySecret
{
    public const string Scheme = "lanes_";
    private const int SecretBytes = 32;

    /// <summary>How many leading characters are kept in clear as the key's visible prefix.</summary>
    public const int PrefixLength = 14;

    public static string Generate()
    {
        Span<byte> bytes = stackalloc byte[SecretBytes];
        RandomNumberGenerator.Fill(bytes);
        return Scheme + Base64Url(bytes);
    }

    public static string PrefixOf(string secret) =>
        secret.Length <= PrefixLength ? secret : secret[..PrefixLength];

    /// <summary>True when the text has the shape of a Lanes key (cheap check before hashing).</summary>
    public static bool LooksValid(string? secret) =>
        secret is { Length: > 40 and < 128 } && secret.StartsWith(Scheme, StringComparison.Ordinal);

    /// <summary>HMAC-SHA256 of the secret under the server-side pepper, lower-case hex.
    /// Note: a keyed hash means a stolen database alone cannot be used to test guesses offline.</summary>
    public static string Hash(string secret, ReadOnlySpan<byte> pepper)
    {
        Span<byte> mac = stackalloc byte[32];
        var input = Encoding.UTF8.GetBytes(secret);
        HMACSHA256.HashData(pepper, input, mac);
        return Convert.ToHexStringLower(mac);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
