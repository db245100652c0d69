using Microsoft.Extensions.Options;

namespace Lanes.Billing.Subscriptions;

/// <summary>Validates <see cref="DunningOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class DunningOptionsValidator : IValidateOptions<DunningOptions>;
