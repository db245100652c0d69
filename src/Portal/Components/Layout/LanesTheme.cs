using MudBlazor;

namespace Lanes.Portal.Components.Layout;

/// <summary>The portal's colours. MudBlazor's defaults put success and warning text at about 2:1 on white; every colour
/// that carries text here meets WCAG 2.2 AA (4.5:1 on white, and white on it for filled chips and buttons), in dark
/// mode too (the browser tests scan both).</summary>
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
            // The fourth chart colour (MudBlazor's default teal is 2:1 on white).
            Tertiary = "#8e24aa",
            TextSecondary = "rgba(0,0,0,0.66)",
            TextDisabled = "rgba(0,0,0,0.54)",
        },
        // Dark mode: the 200-300 shades of the same hues, with near-black text on filled colours, are 5:1 or more on
        // MudBlazor's dark surfaces; its default dark text (white at 50-70 %) is raised so helper text and labels pass.
        PaletteDark = new PaletteDark
        {
            Primary = "#9fa8da",
            PrimaryContrastText = "#121212",
            Secondary = "#80cbc4",
            SecondaryContrastText = "#121212",
            Success = "#81c784",
            SuccessContrastText = "#121212",
            Warning = "#ffb74d",
            WarningContrastText = "#121212",
            Error = "#ef9a9a",
            ErrorContrastText = "#121212",
            Info = "#81d4fa",
            InfoContrastText = "#121212",
            Tertiary = "#ce93d8",
            TertiaryContrastText = "#121212",
            TextPrimary = "rgba(255,255,255,0.87)",
            TextSecondary = "rgba(255,255,255,0.70)",
            DrawerText = "rgba(255,255,255,0.70)",
            AppbarText = "rgba(255,255,255,0.87)",
        },
    };
}
