using Lanes.Billing.Tenants;
using MudBlazor;

namespace Lanes.Portal.Components.Layout;

public sealed record NavItem(string Href, string Label, string Icon, bool ForceLoad = false);

/// <summary>Which pages a person is offered: the pages check again, this only keeps the menu honest.</summary>
public static class NavItems
{
    public static IReadOnlyList<NavItem> For(bool signedIn, MemberRole? role, bool staff)
    {
        var items = new List<NavItem>
        {
            new("/", "Plans", Icons.Material.Filled.Home),
            new("/calculator", "Calculator", Icons.Material.Filled.Calculate),
            new("/status", "Status", Icons.Material.Filled.MonitorHeart),
        };
        if (signedIn && role is not null)
        {
            items.Add(new("/dashboard", "Dashboard", Icons.Material.Filled.Dashboard));
            items.Add(new("/keys", "API keys", Icons.Material.Filled.Key));
            items.Add(new("/usage", "Usage", Icons.Material.Filled.BarChart));
            if (role >= MemberRole.Admin)
            {
                items.Add(new("/team", "Team", Icons.Material.Filled.Group));
                items.Add(new("/billing", "Billing", Icons.Material.Filled.CreditCard));
                items.Add(new("/api-clients", "API clients", Icons.Material.Filled.SettingsEthernet));
            }
        }

        if (signedIn && staff)
        {
            items.Add(new("/support", "Support", Icons.Material.Filled.SupportAgent));
            items.Add(new("/support/capacity", "Capacity", Icons.Material.Filled.Dns));
            items.Add(new("/support/status", "Incidents", Icons.Material.Filled.Campaign));
            items.Add(new("/hangfire", "Jobs", Icons.Material.Filled.Schedule, ForceLoad: true));
        }

        return items;
    }
}
