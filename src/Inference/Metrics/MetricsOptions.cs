using System.ComponentModel.DataAnnotations;

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
