using Lanes.Billing;
using Lanes.Billing.Keys;
using Lanes.Portal.Organisations;
using MudBlazor;

namespace Lanes.Portal.Components.Pages.Keys;

/// <summary>Key arithmetic shown on the list and detail pages.</summary>
public static class KeyMath
{
    public static double Percent(ApiKey key) => key.BudgetUsd == 0 ? 100 : (double)Math.Min(100m, key.WindowSpentUsd / key.BudgetUsd * 100m);
}

/// <summary>Revocation as both key pages do it: confirm, revoke in the caller's tenant, say what happened.</summary>
public static class KeyActions
{
    public static async Task<bool> ConfirmRevokeAsync(IDialogService dialogs, ApiKey key) =>
        await dialogs.ShowMessageBoxAsync("Revoke this key?",
            $"Requests with '{key.Name}' ({key.Prefix}…) stop within seconds. This cannot be undone.", yesText: "Revoke", cancelText: "Cancel") == true;

    public static async Task<bool> RevokeAsync(OrganisationAccess access, KeyService keys, ISnackbar snackbar, OrganisationContext org, ApiKey key)
    {
        try
        {
            await access.RequireAsync(org.TenantId, Lanes.Billing.Tenants.MemberRole.Admin);
            await keys.RevokeAsync(org.TenantId, key.Id, RevocationReason.User, org.UserId);
            snackbar.Add($"{key.Name} is revoked.", Severity.Success);
            return true;
        }
        catch (RuleViolation e)
        {
            snackbar.Add(e.Message, Severity.Error);
            return false;
        }
    }
}
