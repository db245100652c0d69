using Lanes.Billing.Tenants;
using Lanes.Portal.Components.Pages.Team;

namespace Lanes.Portal.Tests.Components.Pages.Team;

public class InviteFormTests
{
    [Theory]
    [InlineData("dev@acme.test", MemberRole.Member, MemberRole.Admin, 0)]
    [InlineData("dev@acme.test", MemberRole.Owner, MemberRole.Owner, 0)]
    [InlineData("dev@acme.test", MemberRole.Owner, MemberRole.Admin, 1)]
    [InlineData("dev@acme.test", MemberRole.Member, MemberRole.Member, 1)]
    [InlineData("not-an-email", MemberRole.Member, MemberRole.Owner, 1)]
    [InlineData("Dev <dev@acme.test>", MemberRole.Member, MemberRole.Owner, 1)]
    public void Invitations_need_an_address_and_stay_within_the_inviters_role(string email, MemberRole role, MemberRole inviter, int errors)
    {
        Assert.Equal(errors, new InviteForm { Email = email, Role = role }.Validate(inviter).Count);
    }
}
