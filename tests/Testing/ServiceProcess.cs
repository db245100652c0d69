using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Lanes.Testing;

/// <summary>
/// A Lanes host started the way <c>./lanes up</c> starts it (<c>dotnet run --no-build</c> of its project, with
/// settings in the environment), on a free loopback port. Its output is kept for failure messages.
/// </summary>
public sealed class ServiceProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();

    private ServiceProcess(string name, Process process, int port)
    {
        Name = name;
        _process = process;
        Port = port;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public string Name { get; }
    public int Port { get; }
    public Uri BaseAddress { get; }
    public bool HasExited => _process.HasExited;

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>The configuration the test binaries were built in (Debug or Release): the hosts were built with them.</summary>
    public static string Configuration => Path.GetFileName(Path.GetDirectoryName(AppContext.BaseDirectory.TrimEnd('/'))!)!;

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Portal.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Portal.sln was not found above the test binaries.");
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <param name="project">The folder under src/ (Inference, Portal).</param>
    public static async Task<ServiceProcess> StartAsync(string name, string project, IReadOnlyDictionary<string, string> environment, TimeSpan? timeout = null, int? port = null)
    {
        port ??= FreePort();
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot() };
        foreach (var arg in new[] { "run", "--no-build", "-c", Configuration, "--no-launch-profile", "--project", Path.Combine(RepositoryRoot(), "src", project), "--", "--urls", $"http://127.0.0.1:{port}" })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["ASPNETCORE_ENVIRONMENT"] = "Development";
        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        var service = new ServiceProcess(name, Process.Start(info)!, port.Value);
        service._process.OutputDataReceived += (_, e) => service.Append(e.Data);
        service._process.ErrorDataReceived += (_, e) => service.Append(e.Data);
        service._process.BeginOutputReadLine();
        service._process.BeginErrorReadLine();
        await service.WaitHealthyAsync(timeout ?? TimeSpan.FromSeconds(120));
        return service;
    }

    /// <summary>Ends the process at once, as a crash or a lost node would: no drain, no goodbye.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is not null)
        {
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }

    private async Task WaitHealthyAsync(TimeSpan timeout)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.Get(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"{Name} exited during start-up ({_process.ExitCode}):\n{Output}");
            }

            // Note: FreePort's port is free when chosen, not when this process binds it; another process can take it in
            // between and answer /healthz itself (once, every browser test then met another, stopping, server). Only
            // this process saying it listens there makes the answer its own.
            if (!Output.Contains($"Now listening on: {BaseAddress.ToString().TrimEnd('/')}", StringComparison.Ordinal))
            {
                return false;
            }

            try
            {
                return (await http.GetAsync(new Uri(BaseAddress, "/readyz"))).IsSuccessStatusCode;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                return false;
            }
        }, ok => ok, timeout, $"{Name} to be ready (/readyz)");
    }
}
