namespace Lanes.Portal.Tests;

/// <summary>Each portal runs a Hangfire server, and Hangfire keeps some configuration process-wide: portals under
/// test start one after another.</summary>
[CollectionDefinition(Name)]
public sealed class PortalHosts
{
    public const string Name = "Portal hosts";
}
