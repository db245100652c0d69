using System.CommandLine;
using Lanes.Billing;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Identity;

namespace Lanes.Portal.Admin;

/// <summary>
/// The host one command runs in: billing's services, the identity store and management clients on the portal's
/// database, with logging kept off stdout, which carries only the command's result.
/// </summary>
internal static class OperatorHost
{
    public static async Task<int> RunAsync(ParseResult parse, Func<ParseResult, OperatorContext, Task<object>> command)
    {
        using var host = Build();

        // Marten prints start-up notes (such as the async daemon being off, which a command never needs) straight to
        // the console; scripts read stdout as the result and stderr as the one-line error, so the notes go nowhere.
        // A start-up failure is an exception, reported as usual.
        var stdout = Console.Out;
        Console.SetOut(TextWriter.Null);
        // The Data Protection key ring lives in the identity store and is read when the host starts.
        await IdentityStore.MigrateAsync(host.Services);
        await host.StartAsync();
        Console.SetOut(stdout);
        try
        {
            var result = await command(parse, new OperatorContext(host.Services, $"operator:{Environment.UserName}"));
            OperatorOutput.Print(result, OperatorOutput.WantsJson(parse));
            return 0;
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static IHost Build()
    {
        var builder = Host.CreateApplicationBuilder();
        // stdout carries only the command's result; warnings and errors go to stderr.
        builder.Logging.ClearProviders();
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Logging.AddFilter((category, level) => level >= (category?.StartsWith("Marten", StringComparison.Ordinal) == true ? LogLevel.Error : LogLevel.Warning));

        // EF logs its probe for the migrations table as a failed command on a fresh database; that is expected.
        builder.Logging.AddFilter("Microsoft.EntityFrameworkCore.Database.Command", LogLevel.None);
        builder.AddBilling(BillingRole.Services);
        builder.AddIdentityStore();
        builder.AddManagementClients();
        return builder.Build();
    }
}
