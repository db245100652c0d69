using Bunit;
using Lanes.Billing.Tenants;
using Lanes.Portal.Components.Layout;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Layout;

public class NavLinksTests
{
    [Theory]
    [InlineData(false, null, false, "Plans,Calculator,Status")]
    [InlineData(true, MemberRole.Member, false, "Plans,Calculator,Status,Dashboard,API keys,Usage")]
    [InlineData(true, MemberRole.Admin, false, "Plans,Calculator,Status,Dashboard,API keys,Usage,Team,Billing,API clients")]
    [InlineData(true, MemberRole.Owner, true, "Plans,Calculator,Status,Dashboard,API keys,Usage,Team,Billing,API clients,Support,Capacity,Incidents,Jobs")]
    [InlineData(true, null, true, "Plans,Calculator,Status,Support,Capacity,Incidents,Jobs")]
    public async Task The_menu_offers_what_the_role_may_open(bool signedIn, MemberRole? role, bool staff, string expected)
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;

        var menu = ctx.Render<NavLinks>(p => p.Add(n => n.SignedIn, signedIn).Add(n => n.Role, role).Add(n => n.Staff, staff));

        Assert.Equal(expected.Split(','), menu.FindAll(".nav-item").Select(a => a.TextContent.Trim()));
    }
}
