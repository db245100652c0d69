using System.ComponentModel.DataAnnotations;

namespace Lanes.Inference.Engine.Upstream;

/// <summary>An OpenAI-compatible server (a vLLM fleet, another Lanes) behind the gateway (<c>Engine:Upstream</c>).</summary>
public sealed class UpstreamEngineOptions
{
    public const string Section = "Engine:Upstream";

    /// <summary>The server's API root, ending in /v1.</summary>
    [Required, Url]
    public string BaseUrl { get; set; } = "";

    /// <summary>Sent as a bearer token when set. Note: a secret; bind it from the environment, never from a file in the repo.</summary>
    public string? ApiKey { get; set; }

    /// <summary>Requests the upstream runs at once for this gateway: the lanes this node can serve.</summary>
    [Range(1, 100_000)]
    public int Slots { get; set; } = 32;

    // Note: the models' own annotations were never checked at start (ValidateDataAnnotations does not look inside a
    // list), and [ValidateEnumeratedItems] would start refusing configurations that run today; the generator's hint
    // that they may be missed is silenced here, not overlooked.
#pragma warning disable SYSLIB1213
    [MinLength(1)]
    public List<UpstreamModel> Models { get; set; } = [];
#pragma warning restore SYSLIB1213

    public TimeSpan Timeout { get; set; } = TimeSpan.FromMinutes(10);
}

public sealed class UpstreamModel
{
    [Required]
    public string Id { get; set; } = "";

    /// <summary>The model's name upstream, when it differs from the id Lanes shows.</summary>
    public string? UpstreamId { get; set; }

    [Range(1, 10_000_000)]
    public int ContextTokens { get; set; } = 8192;

    /// <summary>The model accepts images in user messages (only then are image parts passed on).</summary>
    public bool Vision { get; set; }

    /// <summary>The upstream serves tools, structured outputs, penalties and logprobs for this model (vLLM and
    /// OpenAI-compatible servers do); false refuses those parameters at the gateway instead of forwarding them.</summary>
    public bool FullParameters { get; set; } = true;

    public EngineFeatures Features =>
        (FullParameters ? EngineFeatures.Tools | EngineFeatures.StructuredOutputs | EngineFeatures.Penalties | EngineFeatures.Logprobs : EngineFeatures.None)
        | (Vision ? EngineFeatures.Vision : EngineFeatures.None);
}
