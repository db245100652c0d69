using System.Diagnostics;

namespace Lanes.Testing;

/// <summary>
/// A PostgreSQL cluster of one test's own, in a temporary folder, for faults that would hurt every other test on the
/// shared server: <see cref="CrashAsync"/> restarts it the way a crash does (<c>pg_ctl restart -m immediate</c>: no
/// checkpoint, connections cut, crash recovery at start).
/// </summary>
public sealed class PrivatePostgres : IAsyncDisposable
{
    private readonly string _folder;
    private readonly string _bin;

    private PrivatePostgres(string folder, string bin, int port)
    {
        _folder = folder;
        _bin = bin;
        Port = port;
    }

    public int Port { get; }

    /// <summary>The server's maintenance database, as <see cref="PostgresDatabase"/> takes a server.</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Database=postgres;Username=lanes";

    private string Data => Path.Combine(_folder, "pgdata");

    public static async Task<PrivatePostgres> StartAsync()
    {
        var bin = Environment.GetEnvironmentVariable("LANES_TEST_PGBIN")
                  ?? Directory.GetDirectories("/usr/lib/postgresql").Order().Last() + "/bin";
        var folder = Directory.CreateTempSubdirectory("lanes-pg-").FullName;
        var server = new PrivatePostgres(folder, bin, ServiceProcess.FreePort());
        if (Environment.UserName == "root")
        {
            // initdb refuses to run as root; as root the cluster belongs to the postgres system user.
            await RunAsync("chown", "-R", "postgres", folder);
        }

        await server.AsOwnerAsync(Path.Combine(bin, "initdb"), "-D", server.Data, "-U", "lanes", "--auth=trust", "-E", "UTF8", "--locale=C");
        await server.AsOwnerAsync(Path.Combine(bin, "pg_ctl"), "-D", server.Data, "-l", Path.Combine(folder, "log"), "-w", "-o",
            $"-p {server.Port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c fsync=off -c full_page_writes=off -c max_connections=200",
            "start");
        return server;
    }

    /// <summary>Crashes the server and starts it again (crash recovery), returning once it accepts connections.</summary>
    public Task CrashAsync() => AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-m", "immediate", "-w", "restart");

    public async ValueTask DisposeAsync()
    {
        try
        {
            await AsOwnerAsync(Path.Combine(_bin, "pg_ctl"), "-D", Data, "-m", "immediate", "-w", "stop");
        }
        finally
        {
            Directory.Delete(_folder, recursive: true);
        }
    }

    private Task AsOwnerAsync(string program, params string[] args) =>
        Environment.UserName == "root" ? RunAsync("runuser", ["-u", "postgres", "--", program, .. args]) : RunAsync(program, args);

    private static async Task RunAsync(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({process.ExitCode}):\n{await output}\n{await error}");
        }
    }
}
