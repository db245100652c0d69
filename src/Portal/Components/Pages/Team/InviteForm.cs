using System.Net.Mail;
using Lanes.Billing.Tenants;

namespace Lanes.Portal.Components.Pages.Team;

/// <summary>The invite form and its rules (billing checks them again).</summary>
public sealed class InviteForm
{
    public string Email { get; set; } = "";

    public MemberRole Role { get; set; } = MemberRole.Member;

    /// <param name="inviter">The role of the person inviting: nobody invites above their own role.</param>
    public IReadOnlyList<string> Validate(MemberRole inviter) => [.. Check(inviter).Values];

    /// <summary>Each problem keyed by its field (nameof the property), so the form shows it on that field.</summary>
    public IReadOnlyDictionary<string, string> Check(MemberRole inviter)
    {
        var errors = new Dictionary<string, string>();
        var email = Email.Trim();
        if (!MailAddress.TryCreate(email, out var address) || address.Address != email)
        {
            errors[nameof(Email)] = "Enter the email address of the person to invite.";
        }

        if (inviter < MemberRole.Admin)
        {
            errors[nameof(Role)] = "Only an owner or admin invites members.";
        }
        else if (Role > inviter)
        {
            errors[nameof(Role)] = $"An {inviter.ToString().ToLowerInvariant()} cannot invite an {Role.ToString().ToLowerInvariant()}.";
        }

        return errors;
    }
}
