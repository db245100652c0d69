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
}
