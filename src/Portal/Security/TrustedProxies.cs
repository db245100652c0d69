using System.Net;
using Microsoft.AspNetCore.HttpOverrides;

namespace Lanes.Portal.Security;

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
