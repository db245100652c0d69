using Bunit;
using Lanes.Portal.Components.Pages.Keys;
using Microsoft.Extensions.DependencyInjection;
using MudBlazor;
using MudBlazor.Services;

namespace Lanes.Portal.Tests.Components.Pages.Keys;

public class EditBudgetDialogTests
{
    [Fact]
    public async Task An_empty_or_out_of_range_budget_is_explained_and_nothing_is_saved_then_a_valid_one_is()
    {
        await using var ctx = new BunitContext();
        ctx.Services.AddMudServices();
        ctx.JSInterop.Mode = JSRuntimeMode.Loose;
        var saved = new List<decimal>();
        var provider = ctx.Render<MudDialogProvider>();
        var parameters = new DialogParameters<EditBudgetDialog>
        {
            { d => d.KeyName, "ci" },
            { d => d.Current, 5m },
            { d => d.Save, (Func<decimal, Task>)(b => { saved.Add(b); return Task.CompletedTask; }) },
        };
        await provider.InvokeAsync(() => ctx.Services.GetRequiredService<IDialogService>().ShowAsync<EditBudgetDialog>("Budget", parameters));

        Assert.Equal("5", provider.Find(".budget-input input").GetAttribute("value"));
        provider.Find(".budget-input input").Input("");
        provider.Find("button.budget-save").Click();
        // The reason sits on the field, marked invalid for assistive technology.
        Assert.Contains("Enter a budget", provider.Find(".budget-input .mud-input-helper-text").TextContent);
        Assert.Equal("true", provider.Find(".budget-input input").GetAttribute("aria-invalid"));

        provider.Find(".budget-input input").Input("2000000");
        provider.Find("button.budget-save").Click();
        Assert.Contains("between $0 and", provider.Find(".budget-input .mud-input-helper-text").TextContent);
        Assert.Empty(saved);

        provider.Find(".budget-input input").Input("12.5");
        provider.Find("button.budget-save").Click();
        Assert.Equal([12.5m], saved);
        provider.WaitForAssertion(() => Assert.Empty(provider.FindAll(".budget-save")));
    }

    [Theory]
    [InlineData(null, false)]
    [InlineData(-1.0, false)]
    [InlineData(0.0, true)]
    [InlineData(250.0, true)]
    public void The_budget_form_accepts_zero_to_the_maximum(double? budget, bool valid)
    {
        Assert.Equal(valid, new BudgetForm { BudgetUsd = (decimal?)budget }.Validate().Count == 0);
    }
}
