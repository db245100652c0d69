using System.Security.Cryptography;
using System.Text.Json;
using Lanes.Billing;
using Lanes.Portal.Api.Auth;
using Lanes.Portal.Identity;
using Microsoft.EntityFrameworkCore;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Lanes.Portal.Api.Clients;

/// <summary>What the portal's owners and admins ask for when they create a management client.</summary>
public sealed record ClientRequest(string Name, IReadOnlyList<string> Scopes, DateTimeOffset? ExpiresAt = null);

/// <summary>A created client: the secret is returned here once; OpenIddict keeps only its hash.</summary>
public sealed record IssuedClient(ManagementClient Client, string Secret);

/// <summary>
/// Creates, lists and revokes a tenant's management clients. Each call opens its own scope, so Blazor circuits and
/// request handlers never share a DbContext.
/// </summary>
public sealed partial class ManagementClientService(IServiceScopeFactory scopes, TimeProvider clock, ILogger<ManagementClientService> log)
{
    public async Task<IssuedClient> CreateAsync(Guid tenantId, ClientRequest request, string createdBy, CancellationToken ct = default)
    {
        var now = clock.GetUtcNow();
        var name = request.Name?.Trim() ?? "";
        if (name.Length is 0 or > 100)
        {
            throw new RuleViolation("invalid_name", "A client name is 1-100 characters.");
        }

        var wanted = request.Scopes.Distinct(StringComparer.Ordinal).ToList();
        if (wanted.Count == 0 || wanted.Any(s => !ManagementScopes.IsKnown(s)))
        {
            throw new RuleViolation("invalid_scopes", $"Choose one or more of: {string.Join(", ", ManagementScopes.All)}.");
        }

        if (request.ExpiresAt is { } expires && expires <= now)
        {
            throw new RuleViolation("expiry_in_past", "A client's expiry must be in the future.");
        }

        var client = new ManagementClient
        {
            ClientId = $"lanes_mc_{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(10))}",
            TenantId = tenantId,
            Name = name,
            Scopes = [.. ManagementScopes.All.Where(wanted.Contains)],
            CreatedBy = createdBy,
            CreatedAt = now,
            ExpiresAt = request.ExpiresAt?.ToUniversalTime(),
        };
        // 256 bits; the prefix lets secret scanners recognise a leaked management secret.
        var secret = $"lmcs_{Base64Url(RandomNumberGenerator.GetBytes(32))}";

        var descriptor = new OpenIddictApplicationDescriptor
        {
            ClientId = client.ClientId,
            ClientSecret = secret,
            ClientType = ClientTypes.Confidential,
            DisplayName = name,
            Permissions = { Permissions.Endpoints.Token, Permissions.GrantTypes.ClientCredentials },
        };
        foreach (var granted in client.Scopes)
        {
            descriptor.Permissions.Add(Permissions.Prefixes.Scope + granted);
        }

        descriptor.Properties[ManagementClaims.Tenant] = JsonSerializer.SerializeToElement(tenantId.ToString("D"));

        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IdentityStore>();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        await using var transaction = await store.Database.BeginTransactionAsync(ct);
        store.ManagementClients.Add(client);
        await store.SaveChangesAsync(ct);
        await applications.CreateAsync(descriptor, ct);
        await transaction.CommitAsync(ct);
        Log.Created(log, client.ClientId, tenantId, string.Join(' ', client.Scopes), createdBy);
        return new IssuedClient(client, secret);
    }

    public async Task<IReadOnlyList<ManagementClient>> ListAsync(Guid tenantId, CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IdentityStore>();
        return await store.ManagementClients.AsNoTracking()
            .Where(c => c.TenantId == tenantId)
            .OrderByDescending(c => c.CreatedAt)
            .ToListAsync(ct);
    }

    /// <summary>The client with this id, whichever tenant owns it: for the token endpoint and token validation.</summary>
    public async Task<ManagementClient?> FindAsync(string clientId, CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IdentityStore>();
        return await store.ManagementClients.AsNoTracking().SingleOrDefaultAsync(c => c.ClientId == clientId, ct);
    }

    /// <summary>Revokes a client of this tenant: its OpenIddict application and tokens are deleted, so it can get
    /// no new token, and the API refuses the tokens it already holds at their next request.</summary>
    public async Task<ManagementClient> RevokeAsync(Guid tenantId, string clientId, string revokedBy, CancellationToken ct = default)
    {
        await using var scope = scopes.CreateAsyncScope();
        var store = scope.ServiceProvider.GetRequiredService<IdentityStore>();
        var applications = scope.ServiceProvider.GetRequiredService<IOpenIddictApplicationManager>();
        var client = await store.ManagementClients.SingleOrDefaultAsync(c => c.ClientId == clientId && c.TenantId == tenantId, ct)
            ?? throw new NotFound("Management client");
        if (client.RevokedAt is not null)
        {
            return client;
        }

        await using var transaction = await store.Database.BeginTransactionAsync(ct);
        client.RevokedAt = clock.GetUtcNow();
        client.RevokedBy = revokedBy;
        await store.SaveChangesAsync(ct);
        if (await applications.FindByClientIdAsync(clientId, ct) is { } application)
        {
            await applications.DeleteAsync(application, ct);
        }

        await transaction.CommitAsync(ct);
        Log.Revoked(log, clientId, tenantId, revokedBy);
        return client;
    }

    private static partial class Log
    {
        [LoggerMessage(EventId = 5002, Level = LogLevel.Information, Message = "Management client {ClientId} of tenant {TenantId} created with scopes {Scopes} by {By}")]
        public static partial void Created(ILogger logger, string clientId, Guid tenantId, string scopes, string by);

        [LoggerMessage(EventId = 5003, Level = LogLevel.Information, Message = "Management client {ClientId} of tenant {TenantId} revoked by {By}")]
        public static partial void Revoked(ILogger logger, string clientId, Guid tenantId, string by);
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
