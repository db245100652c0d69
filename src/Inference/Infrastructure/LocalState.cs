namespace Lanes.Inference.Infrastructure;

/// <summary>Where a gateway keeps state on its local disk when no path is configured.</summary>
public static class LocalState
{
    /// <summary>A path under the temporary folder, one per database (<c>ConnectionStrings:Lanes</c>): state kept for
    /// one database (usage to send, keys it knew) is never read by a gateway of another.</summary>
    public static string PerDatabase(string folder, IConfiguration configuration)
    {
        var db = new Npgsql.NpgsqlConnectionStringBuilder(configuration.GetConnectionString("Lanes") ?? "");
        var name = string.Concat($"{db.Host}-{db.Port}-{db.Database}".Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' ? c : '_'));
        return Path.Combine(Path.GetTempPath(), folder, name);
    }

    /// <summary>Writes the file whole or not at all: under a temporary name, flushed to disk, then renamed over the
    /// old one, so a crash mid-write leaves the previous file (and a <c>.tmp</c>), never half of the new one.</summary>
    /// <param name="ownerOnly">Readable and writable by the process's user only.</param>
    public static void WriteAtomically(string path, ReadOnlySpan<byte> bytes, bool ownerOnly = false)
    {
        var temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
        {
            if (ownerOnly && !OperatingSystem.IsWindows())
            {
                File.SetUnixFileMode(temporary, UnixFileMode.UserRead | UnixFileMode.UserWrite);
            }

            file.Write(bytes);
            file.Flush(flushToDisk: true);
        }

        File.Move(temporary, path, overwrite: true);
    }
}
