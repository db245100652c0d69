using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Lanes.Inference.Metering;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;
using OpenAI.Chat;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Api;

/// <summary>A gateway that logs everything at Trace level into memory, so the test can read every line.</summary>
public sealed class GatewayLoggingEverything : GatewayOnKestrel
{
    public ConcurrentQueue<string> Lines { get; } = new();

    protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Logging:LogLevel:Default", "Trace")];

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.ConfigureServices(s => s.AddLogging(l => l.AddProvider(new Capture(Lines)).SetMinimumLevel(LogLevel.Trace)));
    }

    private sealed class Capture(ConcurrentQueue<string> lines) : ILoggerProvider, ILogger
    {
        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull
        {
            lines.Enqueue($"scope: {state}");
            return null;
        }

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            lines.Enqueue($"{logLevel} {eventId} {formatter(state, exception)} {state} {exception}");

        public void Dispose()
        {
        }
    }
}

public class ZeroRetentionTests(GatewayLoggingEverything gateway) : IClassFixture<GatewayLoggingEverything>
{
    [Fact]
    public async Task Prompts_and_completions_appear_in_no_log_no_table_and_no_file()
    {
        var marker = $"zdr-{Guid.NewGuid():N}";
        var (_, key) = await gateway.TenantWithKey();
        var chat = gateway.Chat(key.Secret);
        await chat.CompleteChatAsync([new SystemChatMessage($"system {marker}"), new UserChatMessage($"user {marker}")]);
        await foreach (var _ in chat.CompleteChatStreamingAsync([new UserChatMessage($"stream {marker}")]))
        {
        }

        using var http = gateway.Http();
        await http.SendAsync(Post("/v1/completions", key.Secret, $$"""{"model":"scripted","prompt":"legacy {{marker}}"}"""));
        await http.SendAsync(Post("/v1/chat/completions", key.Secret, $$"""{"model":"scripted","messages":[{"role":"user","content":"bad {{marker}}"}],"tools":[{"x":"{{marker}}"}]}"""));
        await http.SendAsync(Post("/v1/chat/completions", key.Secret, $$"""{"model":"no-such-model","messages":[{"role":"user","content":"{{marker}}"}]}"""));
        await gateway.Get<UsageFlusher>().FlushAsync(CancellationToken.None);

        // Logs: every line written at any level, with scopes and exceptions.
        Assert.NotEmpty(gateway.Lines);
        Assert.DoesNotContain(gateway.Lines, l => l.Contains(marker, StringComparison.Ordinal));

        // Database: a full dump of the gateway's database.
        var dump = await DumpAsync(gateway.Database.ConnectionString);
        Assert.Contains("usage_hours", dump);
        Assert.DoesNotContain(marker.Replace("zdr-", "", StringComparison.Ordinal), dump);

        // Files: the PostgreSQL data folder (after a checkpoint) and the checkout's .data folder.
        await using (var connection = new NpgsqlConnection(gateway.Database.ConnectionString))
        {
            await connection.OpenAsync();
            await using var checkpoint = new NpgsqlCommand("checkpoint", connection);
            await checkpoint.ExecuteNonQueryAsync();
        }

        var needle = Encoding.UTF8.GetBytes(marker.Replace("zdr-", "", StringComparison.Ordinal));
        foreach (var folder in new[] { Environment.GetEnvironmentVariable("LANES_TEST_PGDATA"), DataFolder() }.OfType<string>().Where(Directory.Exists))
        {
            foreach (var file in Directory.EnumerateFiles(folder, "*", SearchOption.AllDirectories))
            {
                Assert.False(Contains(file, needle), $"{file} contains the prompt marker");
            }
        }
    }

    private static string? DataFolder()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "lanes")))
            {
                return Path.Combine(dir.FullName, ".data");
            }
        }

        return null;
    }

    private static bool Contains(string file, byte[] needle)
    {
        try
        {
            var bytes = File.ReadAllBytes(file);
            return bytes.AsSpan().IndexOf(needle) >= 0;
        }
        catch (IOException)
        {
            return false; // sockets and files that vanish while the cluster runs
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static async Task<string> DumpAsync(string connectionString)
    {
        var cs = new NpgsqlConnectionStringBuilder(connectionString);
        var bin = Environment.GetEnvironmentVariable("LANES_TEST_PGBIN")
                  ?? Directory.GetDirectories("/usr/lib/postgresql").Order().Last() + "/bin";
        var start = new ProcessStartInfo(Path.Combine(bin, "pg_dump"))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var a in new[] { "-h", cs.Host!, "-p", cs.Port.ToString(), "-U", cs.Username!, "-d", cs.Database!, "--data-only", "--inserts" })
        {
            start.ArgumentList.Add(a);
        }

        start.Environment["PGPASSWORD"] = cs.Password;
        using var process = Process.Start(start)!;
        var output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, await process.StandardError.ReadToEndAsync());
        return output;
    }
}
