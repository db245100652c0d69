using System.Security.Cryptography;
using Lanes.Portal.Api.Clients;
using Lanes.Portal.Identity;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.Options;
using Microsoft.IdentityModel.Tokens;
using OpenIddict.Server;
using OpenIddict.Server.AspNetCore;
using OpenIddict.Validation.AspNetCore;

namespace Lanes.Portal.Api.Auth;

public static partial class ManagementAuthExtensions
{
    /// <summary>The name of the policy that requires a scope (one policy per scope).</summary>
    public static string PolicyFor(string scope) => $"management:{scope}";

    /// <summary>
    /// The portal as an OAuth2 authorisation server for management clients (client credentials only, OpenIddict on
    /// the identity store) and the validation of its tokens on <c>/api/v1</c>.
    /// </summary>
    public static IHostApplicationBuilder AddManagementAuth(this IHostApplicationBuilder builder)
    {
        var services = builder.Services;
        builder.AddManagementClients();
        services.AddOptions<ManagementAuthOptions>().ValidateOnStart();
        services.AddSingleton<IValidateOptions<ManagementAuthOptions>, ManagementAuthOptionsValidator>();

        services.AddOpenIddict()
            .AddServer(o =>
            {
                o.SetTokenEndpointUris(TokenEndpoint.Path.TrimStart('/'));
                o.AllowClientCredentialsFlow();
                o.RegisterScopes([.. ManagementScopes.All]);
                o.UseAspNetCore().EnableTokenEndpointPassthrough();
            })
            .AddValidation(o =>
            {
                o.UseLocalServer();
                o.UseAspNetCore();
            });
        services.AddSingleton<IConfigureOptions<OpenIddictServerOptions>, ConfigureTokenServer>();
        services.AddSingleton<IConfigureOptions<OpenIddictServerAspNetCoreOptions>, ConfigureTokenServer>();

        var authorization = services.AddAuthorizationBuilder();
        foreach (var scope in ManagementScopes.All)
        {
            authorization.AddPolicy(PolicyFor(scope), p => p
                .AddAuthenticationSchemes(OpenIddictValidationAspNetCoreDefaults.AuthenticationScheme)
                .RequireAuthenticatedUser()
                .AddRequirements(new ManagementScopeRequirement(scope)));
        }

        services.AddSingleton<IAuthorizationHandler, ManagementScopeHandler>();
        services.AddSingleton<Microsoft.AspNetCore.Authorization.IAuthorizationMiddlewareResultHandler, ApiAuthorizationResults>();
        return builder;
    }

    /// <summary>Management clients and OpenIddict's stores, without the server (what the operator CLI needs).</summary>
    public static IHostApplicationBuilder AddManagementClients(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ManagementAuthOptions>().BindConfiguration(ManagementAuthOptions.Section);
        builder.Services.AddSingleton<ManagementClientService>();
        builder.Services.AddOpenIddict().AddCore(o => o.UseEntityFrameworkCore().UseDbContext<IdentityStore>());
        return builder;
    }

    /// <summary>Keys, token lifetime, issuer and transport security from <see cref="ManagementAuthOptions"/>.</summary>
    private sealed class ConfigureTokenServer(IOptions<ManagementAuthOptions> options, IHostEnvironment environment, TimeProvider clock, ILogger<ManagementAuthOptions> log)
        : IConfigureOptions<OpenIddictServerOptions>, IConfigureOptions<OpenIddictServerAspNetCoreOptions>
    {
        public void Configure(OpenIddictServerOptions server)
        {
            var o = options.Value;
            server.AccessTokenLifetime = o.AccessTokenLifetime;
            server.Issuer = o.Issuer;
            IReadOnlyList<RsaSecurityKey> signing, encryption;
            if (string.IsNullOrWhiteSpace(o.KeysPath))
            {
                // Development only (the options validator refuses it elsewhere): tokens die with the process.
                Log.EphemeralKeys(log);
                signing = [new RsaSecurityKey(RSA.Create(2048))];
                encryption = [new RsaSecurityKey(RSA.Create(2048))];
            }
            else
            {
                var folder = Path.GetFullPath(o.KeysPath, environment.ContentRootPath);
                signing = SigningKeyFolder.Load(folder, SigningKeyFolder.Signing, clock);
                encryption = SigningKeyFolder.Load(folder, SigningKeyFolder.Encryption, clock);
            }

            foreach (var key in signing)
            {
                server.SigningCredentials.Add(new SigningCredentials(key, SecurityAlgorithms.RsaSha256));
            }

            foreach (var key in encryption)
            {
                server.EncryptionCredentials.Add(new EncryptingCredentials(key, SecurityAlgorithms.RsaOAEP, SecurityAlgorithms.Aes256CbcHmacSha512));
            }
        }

        public void Configure(OpenIddictServerAspNetCoreOptions aspNetCore) =>
            aspNetCore.DisableTransportSecurityRequirement = !(options.Value.RequireHttps ?? !environment.IsDevelopment());
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5001, Level = LogLevel.Warning, Message = "ManagementApi:KeysPath is not set: management tokens are signed with ephemeral keys and die with this process")]
        public static partial void EphemeralKeys(ILogger logger);
    }
}
