using Microsoft.Extensions.Options;

namespace Lanes.Billing.Capacity;

/// <summary>Validates <see cref="CapacityOptions"/>'s annotations and its <see cref="CapacityOptions.Validate"/> at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class CapacityOptionsValidator : IValidateOptions<CapacityOptions>;
