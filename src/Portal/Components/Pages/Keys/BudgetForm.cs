using Lanes.Billing.Keys;

namespace Lanes.Portal.Components.Pages.Keys;

/// <summary>The edit-budget form: a new budget per window, checked before billing checks it again.</summary>
public sealed class BudgetForm
{
    public decimal? BudgetUsd { get; set; }

    public IReadOnlyList<string> Validate()
    {
        if (BudgetUsd is null)
        {
            return ["Enter a budget per window in USD."];
        }

        return BudgetUsd is < 0 or > KeyDecisions.MaxBudgetUsd
            ? [$"The budget per window is between $0 and ${KeyDecisions.MaxBudgetUsd:N0}."]
            : [];
    }
}
