using System.Diagnostics;
using System.Text.Json;
using Lanes.Testing;
using Microsoft.Playwright;

namespace Lanes.Browser.Tests;

/// <summary>
/// The whole product on loopback, started the way <c>./lanes up</c> starts it: the demo seeded through the operator
/// CLI, then the gateway and the portal as <c>dotnet run --no-build</c> processes on free ports, on a fresh test
/// database; and Debian's Chromium, headless, driven by Playwright.
/// </summary>
public sealed class LanesOnLoopback : IAsyncLifetime
{
    public const string Chromium = "/usr/bin/chromium";

    private readonly PostgresDatabase _database = new();
    private readonly List<ServiceProcess> _services = [];
    private IPlaywright? _playwright;

    public string PortalUrl { get; private set; } = "";
    public string GatewayUrl { get; private set; } = "";
    public string AdminEmail => "admin@lanes.test";
    public string AdminPassword { get; } = $"Staff-{Guid.NewGuid():N}";

    /// <summary>The admin's authenticator key, once a test has set two-factor sign-in up (staff must).</summary>
    public string? AdminAuthenticatorKey { get; set; }
    public string DemoKeySecret { get; private set; } = "";
    public Guid DemoKeyId { get; private set; }
    public Guid DemoTenantId { get; private set; }
    public IBrowser Browser { get; private set; } = default!;

    /// <summary>Where screenshots go: <c>artifacts/screenshots</c> at the repository root.</summary>
    public string Screenshots { get; } = Path.Combine(RepositoryRoot(), "artifacts", "screenshots");

    /// <summary>Page timings measured in the browser, written next to the screenshots at the end.</summary>
    public List<PageTiming> Timings { get; } = [];

    public async Task InitializeAsync()
    {
        await _database.InitializeAsync();
        var pepper = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var gatewayPort = ServiceProcess.FreePort();
        var portalPort = ServiceProcess.FreePort();
        GatewayUrl = $"http://127.0.0.1:{gatewayPort}/v1";
        var environment = new Dictionary<string, string>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Development",
            ["DOTNET_ENVIRONMENT"] = "Development",
            ["ConnectionStrings__Lanes"] = _database.ConnectionString,
            ["Keys__Pepper"] = pepper,
            ["Capacity__Source"] = "Configured",
            ["DataProtection__KeyEncryptionKey"] = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)),
            ["Portal__PublicUrl"] = $"http://127.0.0.1:{portalPort}",
            ["Portal__GatewayUrl"] = GatewayUrl,
            ["Portal__DefaultModel"] = "scripted",

            // The gateway the way the demo runs it, with the model-free engine so answers are predictable.
            ["Engine__Kind"] = "scripted",
            ["Engine__Scripted__Model"] = "scripted",
            ["Engine__Scripted__TokenDelay"] = "00:00:00",
            ["Gateway__Metering__FlushInterval"] = "00:00:00.200",
            ["Gateway__Keys__PollInterval"] = "00:00:00.200",
        };

        var seed = await RunAsync("seed", ["run", "--no-build", "-c", ServiceProcess.Configuration, "--no-launch-profile", "--project", Project("Portal"), "--",
            "admin", "demo", "seed", "--admin-email", AdminEmail, "--new-key", "--json"], new Dictionary<string, string>(environment) { ["LANES_ADMIN_PASSWORD"] = AdminPassword });
        using (var json = JsonDocument.Parse(seed[seed.IndexOf('{')..]))
        {
            DemoKeySecret = json.RootElement.GetProperty("secret").GetString()!;
            DemoKeyId = json.RootElement.GetProperty("key_id").GetGuid();
            DemoTenantId = json.RootElement.GetProperty("tenant_id").GetGuid();
        }

        _services.Add(await ServiceProcess.StartAsync("gateway", "Inference", environment, port: gatewayPort));
        var portal = await ServiceProcess.StartAsync("portal", "Portal", environment, port: portalPort);
        _services.Add(portal);
        PortalUrl = portal.BaseAddress.ToString().TrimEnd('/');

        Directory.CreateDirectory(Screenshots);
        if (!File.Exists(Chromium))
        {
            throw new InvalidOperationException($"Chromium is not installed at {Chromium}: run the tests with ./lanes test, which installs it (apt-get install chromium).");
        }

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = Chromium,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"],
        });
    }

    /// <summary>A fresh browser profile (its own cookies): one person.</summary>
    public async Task<IPage> NewPersonAsync()
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = PortalUrl, ViewportSize = new ViewportSize { Width = 1280, Height = 900 } });
        context.SetDefaultTimeout(30_000);
        return await context.NewPageAsync();
    }

    public string Logs => string.Join("\n", _services.Select(s => $"{s.Name}:\n{s.Output}"));

    public async Task DisposeAsync()
    {
        await File.WriteAllTextAsync(Path.Combine(Screenshots, "timings.json"),
            JsonSerializer.Serialize(Timings, new JsonSerializerOptions { WriteIndented = true }));
        if (_playwright is not null)
        {
            await Browser.DisposeAsync();
        }

        _playwright?.Dispose();
        foreach (var service in _services)
        {
            await service.DisposeAsync();
        }

        await _database.DisposeAsync();
    }

    private static string Project(string name) => Path.Combine(ServiceProcess.RepositoryRoot(), "src", name);

    private static string RepositoryRoot() => ServiceProcess.RepositoryRoot();

    /// <summary>Runs the operator CLI the way ./lanes up does, and returns what it printed.</summary>
    private static async Task<string> RunAsync(string name, IEnumerable<string> args, IReadOnlyDictionary<string, string> environment)
    {
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepositoryRoot() };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{name} failed ({process.ExitCode}): {await output}\n{await error}");
        }

        return await output;
    }
}

/// <summary>How long a page took in the browser: navigation to the interactive page showing its content.</summary>
public sealed record PageTiming(string Page, double Milliseconds);

[CollectionDefinition(Name)]
public sealed class BrowserCollection : ICollectionFixture<LanesOnLoopback>
{
    public const string Name = "Lanes on loopback in Chromium";
}
