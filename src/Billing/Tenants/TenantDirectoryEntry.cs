namespace Lanes.Billing.Tenants;

/// <summary>
/// The one global (not tenant-scoped) list of tenants: slug → tenant id, for sign-in routing, the CLI and the
/// support console. Written in the same transaction as <see cref="TenantCreated"/>; the unique slug index makes
/// two concurrent creations of one slug fail atomically instead of check-then-insert.
/// </summary>
public sealed record TenantDirectoryEntry(Guid Id, string Slug, string Name, DateTimeOffset CreatedAt);

/// <summary>The organisation a person last chose to work in (global, keyed by user id): the portal opens it first.</summary>
public sealed record PreferredTenant(string Id, Guid TenantId, DateTimeOffset ChosenAt);
