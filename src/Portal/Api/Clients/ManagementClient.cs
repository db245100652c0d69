using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Lanes.Portal.Api.Clients;

/// <summary>
/// A tenant's management client: who owns the OpenIddict application with the same client id, what it may do and
/// whether it still may. The secret lives only in OpenIddict's application (hashed); revoked clients stay here as a
/// record of who revoked them.
/// </summary>
public sealed class ManagementClient
{
    public string ClientId { get; set; } = "";
    public Guid TenantId { get; set; }
    public string Name { get; set; } = "";
    public List<string> Scopes { get; set; } = [];
    public string CreatedBy { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? ExpiresAt { get; set; }
    public DateTimeOffset? RevokedAt { get; set; }
    public string? RevokedBy { get; set; }

    public bool IsActiveAt(DateTimeOffset now) => RevokedAt is null && (ExpiresAt is null || ExpiresAt > now);

    internal static void Configure(EntityTypeBuilder<ManagementClient> e)
    {
        e.ToTable("management_clients");
        e.HasKey(c => c.ClientId);
        e.Property(c => c.ClientId).HasMaxLength(64);
        e.Property(c => c.Name).HasMaxLength(100);
        e.Property(c => c.CreatedBy).HasMaxLength(450);
        e.Property(c => c.RevokedBy).HasMaxLength(450);
        e.HasIndex(c => c.TenantId);
    }
}
