using MudBlazor;

namespace Lanes.Portal.Components.Layout;

/// <summary>The portal's colours. MudBlazor's defaults put success and warning text at about 2:1 on white; every colour
/// that carries text here meets WCAG 2.2 AA (4.5:1 on white, and white on it for filled chips and buttons).</summary>
public static class LanesTheme
{
    public static MudTheme Theme { get; } = new()
    {
        PaletteLight = new PaletteLight
        {
            Primary = "#3f51b5",
            Secondary = "#00796b",
            AppbarBackground = "#283593",
            Success = "#2e7d32",
            Warning = "#a15c00",
            Error = "#c62828",
            Info = "#0277bd",
            TextSecondary = "rgba(0,0,0,0.66)",
            TextDisabled = "rgba(0,0,0,0.54)",
        },
        PaletteDark = new PaletteDark { Primary = "#7986cb", Secondary = "#4db6ac" },
    };
}
