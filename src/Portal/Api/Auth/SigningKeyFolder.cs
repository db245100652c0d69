using System.Globalization;
using System.Security.Cryptography;
using Microsoft.IdentityModel.Tokens;

namespace Lanes.Portal.Api.Auth;

/// <summary>
/// The authorisation server's RSA keys as PEM files in one folder: <c>signing-&lt;utc&gt;.pem</c> and
/// <c>encryption-&lt;utc&gt;.pem</c>. The newest of each kind signs and encrypts new tokens; older ones still verify
/// and decrypt tokens issued before a rotation. Rotation adds a pair and keeps the previous one; tokens live minutes,
/// so one previous pair is enough once every replica has restarted.
/// </summary>
public static class SigningKeyFolder
{
    public const string Signing = "signing";
    public const string Encryption = "encryption";
    private const int Keep = 2;

    /// <summary>The keys of one kind, newest first; creates the first pair when the folder has none.</summary>
    public static IReadOnlyList<RsaSecurityKey> Load(string folder, string kind, TimeProvider clock)
    {
        CreateFolder(folder);
        if (Files(folder, kind).Count == 0)
        {
            Write(folder, kind, clock.GetUtcNow());
        }

        return [.. Files(folder, kind).Select(Read)];
    }

    /// <summary>Adds a new signing and encryption key and deletes all but the newest two of each kind.</summary>
    public static IReadOnlyList<string> Rotate(string folder, TimeProvider clock)
    {
        CreateFolder(folder);
        var now = clock.GetUtcNow();
        var written = new List<string> { Write(folder, Signing, now), Write(folder, Encryption, now) };
        foreach (var kind in new[] { Signing, Encryption })
        {
            foreach (var old in Files(folder, kind).Skip(Keep))
            {
                File.Delete(old);
            }
        }

        return written;
    }

    private static void CreateFolder(string folder)
    {
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(folder);
        }
        else
        {
            Directory.CreateDirectory(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static List<string> Files(string folder, string kind) =>
        [.. Directory.GetFiles(folder, $"{kind}-*.pem").Order(StringComparer.Ordinal).Reverse()];

    private static string Write(string folder, string kind, DateTimeOffset now)
    {
        using var rsa = RSA.Create(2048);
        var path = Path.Combine(folder, $"{kind}-{now.UtcDateTime.ToString("yyyyMMddTHHmmssfff", CultureInfo.InvariantCulture)}.pem");
        // Note: private keys; readable by the portal's user only.
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        using (var file = new StreamWriter(path, System.Text.Encoding.ASCII, options))
        {
            file.Write(rsa.ExportPkcs8PrivateKeyPem());
        }

        return path;
    }

    private static RsaSecurityKey Read(string path)
    {
        var rsa = RSA.Create();
        rsa.ImportFromPem(File.ReadAllText(path));
        return new RsaSecurityKey(rsa) { KeyId = Path.GetFileNameWithoutExtension(path) };
    }
}
