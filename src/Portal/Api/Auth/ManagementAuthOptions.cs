using Microsoft.Extensions.Options;

namespace Lanes.Portal.Api.Auth;

/// <summary>The portal's OAuth2 authorisation server for the management API (<c>ManagementApi</c> section).</summary>
public sealed class ManagementAuthOptions
{
    public const string Section = "ManagementApi";

    /// <summary>How long an access token lives. Short, so a leaked token is useful briefly; clients ask again.</summary>
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Folder of the RSA signing and encryption keys (PEM, created when missing). Every portal replica must
    /// see the same folder. Unset: ephemeral keys, allowed only in Development (tokens die with the process).</summary>
    public string? KeysPath { get; set; }

    /// <summary>Whether <c>/connect/token</c> refuses plain HTTP. Unset: required outside Development. Set false
    /// behind a proxy that terminates TLS.</summary>
    public bool? RequireHttps { get; set; }

    /// <summary>The issuer (<c>iss</c>) of tokens; unset: the portal's own address as each request sees it.</summary>
    public Uri? Issuer { get; set; }
}

