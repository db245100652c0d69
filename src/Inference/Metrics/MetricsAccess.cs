using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Security.Cryptography;
using System.Text;

namespace Lanes.Inference.Metrics;

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
