using Microsoft.JSInterop;

namespace Lanes.Portal.Components.Shared;

/// <summary>Copies text for a copy button (<c>wwwroot/js/clipboard.js</c>): false when the browser would not, so the
/// button can say to copy by hand instead of claiming it worked or failing the page.</summary>
public static class Clipboard
{
    public const string CopyByHand = "Could not reach the clipboard: select the text and copy it.";

    public static async Task<bool> CopyAsync(IJSRuntime js, string text)
    {
        try
        {
            return await js.InvokeAsync<bool>("lanesCopy", text);
        }
        catch (JSException)
        {
            return false;
        }
    }
}
