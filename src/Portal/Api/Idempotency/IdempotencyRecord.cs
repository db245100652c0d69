using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Lanes.Portal.Api.Idempotency;

/// <summary>
/// One <c>Idempotency-Key</c> of one tenant: the hash of the request that first used it and, once that request has
/// finished, its response. The primary key (tenant, key) is what makes two concurrent requests with one key run
/// once: the second insert fails instead of a check-then-insert race.
/// </summary>
public sealed class IdempotencyRecord
{
    public Guid TenantId { get; set; }
    public string Key { get; set; } = "";
    public string RequestHash { get; set; } = "";
    public DateTimeOffset CreatedAt { get; set; }
    public DateTimeOffset? CompletedAt { get; set; }
    public int StatusCode { get; set; }
    public string? ContentType { get; set; }
    public string? Location { get; set; }
    public byte[]? Body { get; set; }

    internal static void Configure(EntityTypeBuilder<IdempotencyRecord> e)
    {
        e.ToTable("idempotency_records");
        e.HasKey(r => new { r.TenantId, r.Key });
        e.Property(r => r.Key).HasMaxLength(IdempotencyFilter.MaxKeyLength);
        e.Property(r => r.RequestHash).HasMaxLength(64);
        e.Property(r => r.ContentType).HasMaxLength(200);
        e.Property(r => r.Location).HasMaxLength(500);
        e.HasIndex(r => r.CreatedAt);
    }
}
