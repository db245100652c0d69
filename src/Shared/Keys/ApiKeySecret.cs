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
    public static bool LooksValid(string? secret) => secret is not null && LooksValid(secret.AsSpan());

    /// <inheritdoc cref="LooksValid(string?)"/>
    public static bool LooksValid(ReadOnlySpan<char> secret) =>
        secret.Length is > 40 and < MaxLength && secret.StartsWith(Scheme, StringComparison.Ordinal);

    /// <summary>Longer than any key this scheme issues.</summary>
    private const int MaxLength = 128;

    /// <summary>Characters in a <see cref="Hash(string, ReadOnlySpan{byte})"/>.</summary>
    public const int HashLength = 64;

    /// <summary>HMAC-SHA256 of the secret under the server-side pepper, lower-case hex.
    /// Note: a keyed hash means a stolen database alone cannot be used to test guesses offline.</summary>
    public static string Hash(string secret, ReadOnlySpan<byte> pepper)
    {
        Span<char> hex = stackalloc char[HashLength];
        Hash(secret, pepper, hex);
        return new string(hex);
    }

    /// <summary>The hash written into <paramref name="hex"/> (<see cref="HashLength"/> characters), allocating nothing:
    /// the gateway hashes the key of every request. The secret must pass <see cref="LooksValid(ReadOnlySpan{char})"/>.</summary>
    public static void Hash(ReadOnlySpan<char> secret, ReadOnlySpan<byte> pepper, Span<char> hex)
    {
        Span<byte> input = stackalloc byte[MaxLength * 3];
        Span<byte> mac = stackalloc byte[32];
        var length = Encoding.UTF8.GetBytes(secret, input);
        HMACSHA256.HashData(pepper, input[..length], mac);
        Convert.TryToHexStringLower(mac, hex, out _);
    }

    /// <summary>The hash written into <paramref name="hex"/> with an HMAC already keyed with the pepper (reused
    /// across calls on one thread; it is left reset).</summary>
    public static void Hash(ReadOnlySpan<char> secret, IncrementalHash keyed, Span<char> hex)
    {
        Span<byte> input = stackalloc byte[MaxLength * 3];
        Span<byte> mac = stackalloc byte[32];
        var length = Encoding.UTF8.GetBytes(secret, input);
        keyed.AppendData(input[..length]);
        keyed.GetHashAndReset(mac);
        Convert.TryToHexStringLower(mac, hex, out _);
    }

    private static string Base64Url(ReadOnlySpan<byte> bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
