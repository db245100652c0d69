namespace Lanes.Inference.Api;

/// <summary>Request limits of the OpenAI-compatible API (<c>Gateway</c> section).</summary>
public sealed class GatewayOptions
{
    public const string Section = "Gateway";

    /// <summary>Largest request body accepted; larger ones get 413.</summary>
    [System.ComponentModel.DataAnnotations.Range(1_024, 64 * 1024 * 1024)]
    public int MaxRequestBytes { get; set; } = 1024 * 1024;

    /// <summary>At shutdown, how long running requests and streams may take to finish before the process exits.</summary>
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
