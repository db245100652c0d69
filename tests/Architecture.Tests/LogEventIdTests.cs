using System.Reflection;
using Microsoft.Extensions.Logging;

namespace Lanes.Architecture.Tests;

/// <summary>A log event id names one kind of event across the product, so an alert or a search on it finds that
/// event and no other.</summary>
public class LogEventIdTests
{
    [Fact]
    public void Every_log_event_id_is_used_by_one_message_only()
    {
        var events = Projects.All
            .SelectMany(a => a.GetTypes())
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            .Select(m => (Method: m, Attribute: m.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .ToList();

        var reused = events.GroupBy(e => e.Attribute!.EventId)
            .Where(g => g.Count() > 1)
            .Select(g => $"{g.Key}: {string.Join(", ", g.Select(e => $"{e.Method.DeclaringType!.FullName}.{e.Method.Name}"))}")
            .ToList();

        Assert.True(events.Count > 20, $"Only {events.Count} log messages found: the scan is not reading the assemblies.");
        Assert.Empty(reused);
    }
}
