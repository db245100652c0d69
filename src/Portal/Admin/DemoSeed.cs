using Lanes.Billing.Keys;
using Lanes.Billing.Subscriptions;
using Lanes.Billing.Tenants;
using Lanes.Portal.Identity;

namespace Lanes.Portal.Admin;

/// <summary>
/// What <c>./lanes up</c> seeds: a staff admin, the <c>demo</c> tenant on Pro with the admin as owner, and one API key.
/// Running it again changes nothing, except that <c>--new-key</c> replaces the demo key (its secret is only ever
/// shown when it is issued).
/// </summary>
internal static class DemoSeed
{
    public const string TenantSlug = "demo";
    public const string Plan = "pro";
    public const string KeyName = "demo";

    public static async Task<object> RunAsync(IServiceProvider services, string adminEmail, string adminPassword, bool newKey, string by)
    {
        var admin = await StaffAccounts.EnsureAsync(services, adminEmail, adminPassword);
        var tenants = services.GetRequiredService<TenantService>();
        var subscriptions = services.GetRequiredService<SubscriptionService>();
        var keys = services.GetRequiredService<KeyService>();

        var entry = await tenants.FindBySlugAsync(TenantSlug);
        var tenantId = entry?.Id ?? (await tenants.CreateAsync(TenantSlug, "Demo Inc.", by, (admin.Id, admin.Email!))).Id;
        if (await subscriptions.FindAsync(tenantId) is not { IsLive: true })
        {
            await subscriptions.AssignAsync(tenantId, Plan, by);
        }

        var demoKeys = (await keys.ListAsync(tenantId)).Where(k => k.Name == KeyName && k.State == KeyState.Active).ToList();
        string? secret = null;
        if (newKey || demoKeys.Count == 0)
        {
            foreach (var old in demoKeys)
            {
                await keys.RevokeAsync(tenantId, old.Id, RevocationReason.Staff, by);
            }

            var issued = await keys.IssueAsync(tenantId, new KeyRequest(KeyName), by);
            demoKeys = [issued.Key];
            secret = issued.Secret;
        }

        return new
        {
            tenant = TenantSlug,
            tenant_id = tenantId,
            admin_email = admin.Email,
            key_id = demoKeys[0].Id,
            key_prefix = demoKeys[0].Prefix,
            secret,
        };
    }
}
