using System.Text.Json;
using Deque.AxeCore.Playwright;
using Microsoft.Playwright;

namespace Lanes.Browser.Tests;

/// <summary>What every main page must be, whoever looks at it: usable with a screen reader and a keyboard (axe-core's
/// rules, WCAG 2.2 AA and best practice) and readable at any width (no text cut off by its box, no sideways scroll).</summary>
public static class PageChecks
{
    /// <summary>A phone held upright (iPhone 14's CSS size).</summary>
    public static readonly ViewportSize Phone = new() { Width = 390, Height = 844 };

    public static readonly ViewportSize Desktop = new() { Width = 1280, Height = 900 };

    /// <summary>Problems axe-core finds on the page that it rates serious or critical, one line each with where.</summary>
    public static async Task<IReadOnlyList<string>> AccessibilityProblemsAsync(this IPage page)
    {
        var result = await page.RunAxe();
        return [.. result.Violations
            .Where(v => v.Impact is "serious" or "critical")
            .SelectMany(v => v.Nodes.Take(3).Select(n => $"{v.Impact} {v.Id}: {v.Help} at {n.Target} ({Shorten(n.Html)})"))];
    }

    /// <summary>Elements whose text does not fit their box and is cut off (overflow hidden or clip, or an ellipsis), or
    /// spills out of it; and the page itself scrolling sideways. Boxes that scroll (code snippets, wide tables on a
    /// phone) are not clipped: everything in them can be reached.</summary>
    public static async Task<IReadOnlyList<string>> ClippedTextAsync(this IPage page)
    {
        var json = await page.EvaluateAsync<string>(ClippingScript);
        return JsonSerializer.Deserialize<List<string>>(json) ?? [];
    }

    /// <summary>Waits until a tooltip is fully shown and no popover (a tooltip, a menu) is part way through fading in or
    /// out: axe judges text as it is drawn at that moment, and a half-transparent tooltip is not what anyone reads.</summary>
    public static Task WaitForShownTooltipAsync(this IPage page) => page.WaitForFunctionAsync("""
        () => {
          const popovers = [...document.querySelectorAll('.mud-popover')].map(el => [el, getComputedStyle(el)]);
          const settled = popovers.every(([, s]) => s.display === 'none' || s.visibility === 'hidden' || s.opacity === '0' || s.opacity === '1');
          return settled && popovers.some(([el, s]) => el.classList.contains('mud-tooltip') && el.classList.contains('mud-popover-open') && s.opacity === '1');
        }
        """);

    /// <summary>Screenshots the page at its current width and fails with every accessibility and clipping problem
    /// found, so one run lists them all.</summary>
    public static async Task<IReadOnlyList<string>> CheckAsync(this IPage page, LanesOnLoopback lanes, string name)
    {
        await page.ScreenshotAsync(lanes, name);
        var problems = new List<string>();
        problems.AddRange((await page.AccessibilityProblemsAsync()).Select(p => $"{name}: {p}"));
        problems.AddRange((await page.ClippedTextAsync()).Select(p => $"{name}: clipped {p}"));
        return problems;
    }

    private static string Shorten(string html) => html.Length <= 160 ? html : html[..160] + "…";

    // Runs in the page. Only elements that hold text of their own are judged (a container whose child overflows is
    // reported as that child); invisible ones and those inside SVG (charts draw their own labels) are skipped.
    private const string ClippingScript = """
        () => {
          const problems = [];
          const root = document.documentElement;
          if (root.scrollWidth > window.innerWidth + 1) {
            problems.push(`the page scrolls sideways: ${root.scrollWidth}px wide in a ${window.innerWidth}px window`);
          }
          const describe = el => {
            const cls = typeof el.className === 'string' ? el.className.trim().split(/\s+/).slice(0, 3).join('.') : '';
            return `${el.tagName.toLowerCase()}${cls ? '.' + cls : ''} "${el.innerText.trim().slice(0, 60)}"`;
          };
          for (const el of document.body.querySelectorAll('*')) {
            if (el.closest('svg') || el.closest('[aria-hidden=true]')) continue;
            const ownText = [...el.childNodes].some(n => n.nodeType === Node.TEXT_NODE && n.textContent.trim().length > 0);
            if (!ownText) continue;
            const style = getComputedStyle(el);
            if (style.visibility === 'hidden' || style.display === 'none' || el.getClientRects().length === 0) continue;
            if (el.clientWidth === 0 && el.clientHeight === 0) continue;
            const scrolls = v => v === 'auto' || v === 'scroll';
            if (scrolls(style.overflowX) && scrolls(style.overflowY)) continue;
            const wide = el.scrollWidth > el.clientWidth + 1 && !scrolls(style.overflowX) && style.display !== 'inline';
            const tall = el.scrollHeight > el.clientHeight + 1 && !scrolls(style.overflowY) && style.display !== 'inline'
                         && (style.overflowY === 'hidden' || style.overflowY === 'clip');
            if (wide || tall) {
              problems.push(`${describe(el)}: content ${el.scrollWidth}x${el.scrollHeight}px in a ${el.clientWidth}x${el.clientHeight}px box`);
            }
          }
          return JSON.stringify(problems);
        }
        """;
}
