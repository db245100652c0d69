using System.CommandLine;
using Lanes.Billing.Tenants;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Api.Clients;
using Microsoft.Extensions.Options;

namespace Lanes.Portal.Admin;

/// <summary>
/// The management API's side of the CLI: <c>client create</c> and <c>client revoke</c> (a tenant's OAuth clients) and
/// <c>auth-keys rotate</c> (the keys its tokens are signed and encrypted with).
/// </summary>
internal static class ManagementApiCommands
{
    public static Command Client() => OperatorCommand.Group("client", "Create and revoke a tenant's management API clients.", CreateClient(), RevokeClient());

    public static Command AuthKeys() => OperatorCommand.Group("auth-keys", "The management API's token keys.", RotateKeys());

    private static Command CreateClient()
    {
        var tenant = TenantOption();
        var name = CliOptions.Text("--name", "The client's name.");
        var scopes = CliOptions.List("--scopes", $"What it may do, comma-separated (default: {string.Join(',', ManagementScopes.All)}).");
        var expires = CliOptions.Instant("--expires", "When the client stops working, ISO 8601 (default: never).");
        return new Command("create", "Create a client; its secret is printed once.") { tenant, name, scopes, expires }
            .Requires(tenant, name)
            .Runs(async (parse, op) =>
            {
                var found = await op.Get<TenantService>().GetBySlugAsync(parse.Required(tenant));
                var request = new ClientRequest(parse.Required(name), parse.GetValue(scopes) ?? ManagementScopes.All, parse.GetValue(expires));
                var issued = await op.Get<ManagementClientService>().CreateAsync(found.Id, request, op.By);
                return new { client_id = issued.Client.ClientId, client_secret = issued.Secret, tenant = found.Slug, scopes = issued.Client.Scopes, expires_at = issued.Client.ExpiresAt };
            });
    }

    private static Command RevokeClient()
    {
        var tenant = TenantOption();
        var client = CliOptions.Text("--client", "The client's id.");
        return new Command("revoke", "Revoke a client: its tokens stop working.") { tenant, client }
            .Requires(tenant, client)
            .Runs(async (parse, op) =>
            {
                var found = await op.Get<TenantService>().GetBySlugAsync(parse.Required(tenant));
                var revoked = await op.Get<ManagementClientService>().RevokeAsync(found.Id, parse.Required(client), op.By);
                return new { client_id = revoked.ClientId, revoked_at = revoked.RevokedAt };
            });
    }

    private static Command RotateKeys() =>
        new Command("rotate", "Write a new signing and encryption key pair; the previous pair still validates.")
            .Runs((_, op) =>
            {
                var folder = op.Get<IOptions<ManagementAuthOptions>>().Value.KeysPath
                    ?? throw new CliUsageException("ManagementApi:KeysPath is not set (./lanes sets it to .data/keys/openiddict).");
                var written = SigningKeyFolder.Rotate(Path.GetFullPath(folder), op.Get<TimeProvider>());
                return Task.FromResult<object>(new { written, note = "Restart every portal replica; tokens signed with the previous key stay valid until they expire." });
            });

    private static Option<string> TenantOption() => CliOptions.Text("--tenant", "The tenant's slug.");
}
