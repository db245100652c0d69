using Microsoft.AspNetCore.Identity;

namespace Lanes.Portal.Identity;

/// <summary>A person who signs in. Tenancy lives in billing (members of a tenant); staff is a role here.</summary>
public sealed class LanesUser : IdentityUser
{
    public string DisplayName { get; set; } = "";
}

public static class Roles
{
    /// <summary>Operators of Lanes (support). Every staff action is recorded with the staff member's id.</summary>
    public const string Staff = "staff";
}
