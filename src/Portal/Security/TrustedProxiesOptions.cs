namespace Lanes.Portal.Security;

/// <summary>The reverse proxies whose <c>X-Forwarded-For</c>/<c>-Proto</c> the portal believes (<c>TrustedProxies</c>
/// section). Note: a forwarded header from anyone else is ignored, so nobody can choose the client address that rate
/// limits key on, or make a plain-HTTP request look like HTTPS.</summary>
public sealed class TrustedProxiesOptions
{
    public const string Section = "TrustedProxies";

    /// <summary>Addresses of the proxies, such as <c>10.0.0.5</c>.</summary>
    public List<string> Proxies { get; set; } = [];

    public IEnumerable<string> GivenProxies => Proxies.Where(p => !string.IsNullOrWhiteSpace(p));

    public IEnumerable<string> GivenNetworks => Networks.Where(n => !string.IsNullOrWhiteSpace(n));

    /// <summary>Networks the proxies live in, in CIDR notation, such as <c>10.0.0.0/8</c>.</summary>
    public List<string> Networks { get; set; } = [];

    /// <summary>Blank entries (an unset compose variable) count as none.</summary>
    public bool Any => GivenProxies.Any() || GivenNetworks.Any();
}
