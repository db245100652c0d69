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

        await SeedUsageHistoryAsync(services, tenantId, demoKeys[0]);

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

    /// <summary>A week of plausible hourly usage on the demo key, so the charts have a shape on first start. Batch ids
    /// are derived from the hour: seeding again records nothing twice.</summary>
    private static async Task SeedUsageHistoryAsync(IServiceProvider services, Guid tenantId, ApiKey key)
    {
        var clock = services.GetRequiredService<TimeProvider>();
        var recorder = services.GetRequiredService<Lanes.Billing.Usage.UsageRecorder>();
        var prices = services.GetRequiredService<Lanes.Shared.Pricing.PriceTable>();
        var model = prices.Prices.First().Model;
        var now = clock.GetUtcNow();
        var thisHour = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, 0, 0, TimeSpan.Zero);
        for (var h = 7 * 24; h >= 1; h--)
        {
            var hour = thisHour.AddHours(-h);

            // Office hours are busy, nights quiet: a daily curve with a little deterministic noise.
            var busy = Math.Max(0, Math.Sin((hour.Hour - 6) / 24.0 * 2 * Math.PI));
            var requests = (long)(20 + 180 * busy + (hour.DayOfYear * 7 + hour.Hour * 13) % 17);
            var (input, output) = (requests * 900, requests * 250);
            var detail = new Lanes.Billing.Usage.UsageDetail(
                BudgetRefusals: busy > 0.9 ? requests / 40 : 0, RequestRefusals: 0, LaneRefusals: busy > 0.8 ? requests / 60 : 0,
                LaneSeconds: requests * 6.5, QueueWaitCounts: [requests * 7 / 10, requests / 5, requests / 10, 0, 0, 0, 0, 0, 0, 0, 0])
            {
                // Most traffic through Chat Completions, some coding agents on Responses and Messages.
                RequestsByApi = [requests * 6 / 10, 0, requests / 5, requests - requests * 6 / 10 - requests / 5],

                // Most requests arrive within the reservation and start at once; at the busiest hours one in 200 waits.
                WithinReservation = requests * 9 / 10,
                Honoured = requests * 9 / 10 - (busy > 0.9 ? requests / 200 : 0),
                ReservedWaitCounts = [requests * 8 / 10, requests / 10 - (busy > 0.9 ? requests / 200 : 0), 0, 0, busy > 0.9 ? requests / 200 : 0, 0, 0, 0, 0, 0, 0],

                // Pro reserves 6 lanes: quiet hours peak at 1 or 2 running at once, the busiest fill all 6.
                PeakLanes = 1 + (int)Math.Round(5 * busy),
            };
            var batchId = new Guid(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes($"demo-usage:{key.Id}:{hour:O}")));
            var window = Lanes.Shared.Windows.WindowSchedule.At(hour, key.WindowLength);
            await recorder.RecordAsync(new Lanes.Billing.Usage.UsageBatch(batchId, "demo-seed",
            [
                new Lanes.Billing.Usage.UsageLine(tenantId, key.Id, model, window.Start, hour, requests, input, output,
                    Lanes.Shared.Pricing.PriceTable.Spend(prices.Find(model)!, input, output), detail.BudgetRefusals + detail.LaneRefusals, detail),
            ]));
        }
    }
}
