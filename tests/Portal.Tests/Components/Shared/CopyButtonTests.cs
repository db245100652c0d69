using Bunit;
using Lanes.Portal.Components.Shared;
using Microsoft.JSInterop;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Shared;

/// <summary>A copy button says what happened: "Copied" only when the browser took the text, and how to copy by hand
/// when it would not (a portal on plain http has no navigator.clipboard), never a broken page.</summary>
public class CopyButtonTests
{
    private const string Code = "export LANES_API_KEY=lanes_example";

    [Theory]
    [InlineData("copied")]
    [InlineData("refused")]
    [InlineData("threw")]
    public async Task A_snippets_copy_button_says_copied_only_when_the_text_reached_the_clipboard(string outcome)
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        var copy = ctx.JSInterop.Setup<bool>("lanesCopy", Code);
        switch (outcome)
        {
            case "copied":
                copy.SetResult(true);
                break;
            case "refused":
                copy.SetResult(false);
                break;
            default:
                copy.SetException(new JSException("navigator.clipboard is undefined"));
                break;
        }

        var snippet = ctx.Render<CodeSnippet>(p => p.Add(s => s.Title, "Environment").Add(s => s.Code, Code));
        await snippet.Find("button.snippet-copy").ClickAsync(new());

        Assert.Single(copy.Invocations);
        if (outcome == "copied")
        {
            Assert.Contains("Copied", snippet.Find("button.snippet-copy").TextContent);
            Assert.Empty(snippet.FindAll(".snippet-copy-failed"));
        }
        else
        {
            Assert.DoesNotContain("Copied", snippet.Find("button.snippet-copy").TextContent);
            Assert.Equal(Clipboard.CopyByHand, snippet.Find(".snippet-copy-failed").TextContent);
        }
    }
}
