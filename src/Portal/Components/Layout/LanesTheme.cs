using MudBlazor;

namespace Lanes.Portal.Components.Layout;

public static class LanesTheme
{
    public static MudTheme Theme { get; } = new()
    {
        PaletteLight = new PaletteLight { Primary = "#3f51b5", Secondary = "#00897b", AppbarBackground = "#283593" },
        PaletteDark = new PaletteDark { Primary = "#7986cb", Secondary = "#4db6ac" },
    };
}
