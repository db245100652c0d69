using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Lanes.Inference.Metrics;

/// <summary>Who may scrape <c>/metrics</c> (<c>Metrics</c> section). Note: the metrics are labelled by tenant id, so
/// they are never open to whoever can reach the gateway's API port.</summary>
public sealed class MetricsOptions
{
    public const string Section = "Metrics";

    /// <summary>A port of its own for <c>/metrics</c> (listed in the server's URLs and left out of the public
    /// service); scrapes on it need no token. Other ports answer 404 there.</summary>
    [Range(1, 65535)]
    public int? Port { get; set; }

    /// <summary>A bearer token scrapers send (<c>Authorization: Bearer ...</c>) on any port.</summary>
    [MinLength(16)]
    public string? ScrapeToken { get; set; }
}

/// <summary>
/// The rule, in order: a scrape on the metrics port is allowed; a scrape carrying the scrape token is allowed; with
/// neither configured, only this machine (loopback) may scrape. Everyone else gets 401 (or 404 off the metrics port)
/// and learns nothing, in particular no tenant ids.
/// </summary>
public static class MetricsAccess
{
    public const string Path = "/metrics";

    public static IApplicationBuilder UseMetricsAccess(this IApplicationBuilder app) =>
        app.UseWhen(http => http.Request.Path.StartsWithSegments(Path), branch => branch.Use(async (http, next) =>
        {
            var options = http.RequestServices.GetRequiredService<Microsoft.Extensions.Options.IOptions<MetricsOptions>>().Value;
            switch (Decide(http, options))
            {
                case StatusCodes.Status200OK:
                    await next(http);
                    break;
                case var status:
                    http.Response.StatusCode = status;
                    if (status == StatusCodes.Status401Unauthorized)
                    {
                        http.Response.Headers.WWWAuthenticate = "Bearer realm=\"metrics\"";
                    }

                    break;
            }
        }));

    private static int Decide(HttpContext http, MetricsOptions options)
    {
        if (options.Port is { } port)
        {
            if (http.Connection.LocalPort == port)
            {
                return StatusCodes.Status200OK;
            }

            if (options.ScrapeToken is null)
            {
                return StatusCodes.Status404NotFound;
            }
        }

        if (options.ScrapeToken is { } token)
        {
            var sent = http.Request.Headers.Authorization.ToString();
            return sent.StartsWith("Bearer ", StringComparison.Ordinal)
                   && CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(sent[7..]), Encoding.UTF8.GetBytes(token))
                ? StatusCodes.Status200OK
                : StatusCodes.Status401Unauthorized;
        }

        return http.Connection.RemoteIpAddress is { } address && IPAddress.IsLoopback(address) && !http.Request.Headers.ContainsKey("X-Forwarded-For")
            ? StatusCodes.Status200OK
            : StatusCodes.Status401Unauthorized;
    }
}
