using System.Net.Mail;
using Lanes.Billing.Tenants;

namespace Lanes.Portal.Components.Pages.Team;

/// <summary>The invite form and its rules (billing checks them again).</summary>
public sealed class InviteForm
{
    public string Email { get; set; } = "";

    public MemberRole Role { get; set; } = MemberRole.Member;

    /// <param name="inviter">The role of the person inviting: nobody invites above their own role.</param>
    public IReadOnlyList<string> Validate(MemberRole inviter)
    {
        var errors = new List<string>();
        var email = Email.Trim();
        if (!MailAddress.TryCreate(email, out var address) || address.Address != email)
        {
            errors.Add("Enter the email address of the person to invite.");
        }

        if (inviter < MemberRole.Admin)
        {
            errors.Add("Only an owner or admin invites members.");
        }
        else if (Role > inviter)
        {
            errors.Add($"An {inviter.ToString().ToLowerInvariant()} cannot invite an {Role.ToString().ToLowerInvariant()}.");
        }

        return errors;
    }
}
