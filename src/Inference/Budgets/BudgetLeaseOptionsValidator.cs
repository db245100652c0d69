using Microsoft.Extensions.Options;

namespace Lanes.Inference.Budgets;

/// <summary>Validates <see cref="BudgetLeaseOptions"/>'s annotations and its <see cref="BudgetLeaseOptions.Validate"/> at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class BudgetLeaseOptionsValidator : IValidateOptions<BudgetLeaseOptions>;
