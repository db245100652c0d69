using System.ComponentModel.DataAnnotations;

namespace Lanes.Portal;

/// <summary>What the portal tells customers about the data plane (<c>Portal</c> section).</summary>
public sealed class PortalOptions
{
    public const string Section = "Portal";

    /// <summary>The gateway's OpenAI base URL, as customers' clients reach it (shown in snippets).</summary>
    [Required, Url]
    public string GatewayUrl { get; set; } = "http://127.0.0.1:5081/v1";

    /// <summary>Where people reach the portal: every link sent by email (confirmation, password reset, invitation)
    /// starts here. Note: never the request's Host header, which whoever sends the request chooses, so a reset email
    /// can only ever point at the real portal.</summary>
    [Required, Url]
    public string PublicUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>The model snippets call when a key allows every model.</summary>
    [Required]
    public string DefaultModel { get; set; } = "lanes-demo";
}
