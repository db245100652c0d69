namespace Lanes.Billing.Tests;

/// <summary>
/// Hangfire keeps some configuration process-wide (its log provider among it), so test classes that start a Hangfire
/// server run one after another rather than side by side.
/// </summary>
[CollectionDefinition(Name)]
public sealed class HangfireServers
{
    public const string Name = "Hangfire servers";
}
