using System.Diagnostics;
using Lanes.Testing;

namespace Lanes.Inference.Tests.Agents;

/// <summary>
/// Runs a real client from npm (installed into tests/Agents by <c>./lanes test</c> with <c>npm ci</c>) against a
/// gateway, as a separate process, and returns its exit code and output.
/// </summary>
public static class NodeClient
{
    public static string Folder
    {
        get
        {
            var folder = Path.Combine(ServiceProcess.RepositoryRoot(), "tests", "Agents");
            return Directory.Exists(Path.Combine(folder, "node_modules"))
                ? folder
                : throw new InvalidOperationException("tests/Agents/node_modules is missing: run ./lanes test (it runs npm install there), or npm install in tests/Agents.");
        }
    }

    public static async Task<(int ExitCode, string Output)> RunAsync(string file, IEnumerable<string> arguments, IReadOnlyDictionary<string, string> environment, TimeSpan timeout, string? workingDirectory = null)
    {
        var start = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory ?? Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (k, v) in environment)
        {
            start.Environment[k] = v;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start.");
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            return (-1, $"timed out after {timeout}\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, $"{await stdout}\n{await stderr}");
    }
}
