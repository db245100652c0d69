using Npgsql;

namespace Lanes.Billing.Infrastructure;

/// <summary>Connection settings every Lanes host uses unless its connection string says otherwise.</summary>
public static class DatabaseConnection
{
    /// <summary>
    /// Note: Npgsql's defaults suit a database that is either up or refusing. A database behind a network that drops
    /// packets would hold each new connection for 15 s and each cancelled query for 2 s more; keepalives find a dead
    /// peer on an idle pooled connection instead of at the next query. They are the kernel's (TCP), not Npgsql's own
    /// (<c>Keepalive</c>): Npgsql pings an idle connection synchronously on a thread-pool thread, and against a
    /// database that stopped answering that thread waits out the command timeout (30 s), one per idle connection.
    /// </summary>
    public static string WithFaultDefaults(string connectionString)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var given = connectionString.ToLowerInvariant();
        if (!Given(given, "timeout"))
        {
            builder.Timeout = 5;
        }

        if (!Given(given, "tcp keepalive") && !Given(given, "keepalive"))
        {
            // Probes after 10 s idle, then every 2 s: the kernel gives a silent peer up after its probe count (9).
            builder.TcpKeepAlive = true;
            builder.TcpKeepAliveTime = 10;
            builder.TcpKeepAliveInterval = 2;
        }

        if (!Given(given, "cancellation timeout"))
        {
            // A cancelled query's connection is closed at once rather than waiting on a server that may not answer.
            builder.CancellationTimeout = -1;
        }

        return builder.ConnectionString;
    }

    private static bool Given(string connectionString, string key) =>
        connectionString.Split(';').Any(part => part.Split('=')[0].Trim() == key);
}
