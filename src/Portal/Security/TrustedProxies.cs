using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

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

public static class TrustedProxies
{
    public static IHostApplicationBuilder AddTrustedProxies(this IHostApplicationBuilder builder)
    {
        var trusted = builder.Configuration.GetSection(TrustedProxiesOptions.Section).Get<TrustedProxiesOptions>() ?? new();
        builder.Services.Configure<ForwardedHeadersOptions>(o =>
        {
            o.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            o.KnownProxies.Clear();
            o.KnownIPNetworks.Clear();
            foreach (var proxy in trusted.GivenProxies)
            {
                o.KnownProxies.Add(IPAddress.TryParse(proxy, out var address)
                    ? address
                    : throw new InvalidOperationException($"TrustedProxies:Proxies has '{proxy}', which is not an IP address."));
            }

            foreach (var network in trusted.GivenNetworks)
            {
                o.KnownIPNetworks.Add(System.Net.IPNetwork.TryParse(network, out var parsed)
                    ? parsed
                    : throw new InvalidOperationException($"TrustedProxies:Networks has '{network}', which is not a CIDR network such as 10.0.0.0/8."));
            }
        });
        return builder;
    }

    /// <summary>Applies forwarded headers only when proxies are configured; without any, the connection is the client.</summary>
    public static IApplicationBuilder UseTrustedProxies(this WebApplication app)
    {
        var trusted = app.Configuration.GetSection(TrustedProxiesOptions.Section).Get<TrustedProxiesOptions>() ?? new();
        return trusted.Any ? app.UseForwardedHeaders() : app;
    }
}
