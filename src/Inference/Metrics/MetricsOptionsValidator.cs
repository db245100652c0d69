using Microsoft.Extensions.Options;

namespace Lanes.Inference.Metrics;

/// <summary>Validates <see cref="MetricsOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class MetricsOptionsValidator : IValidateOptions<MetricsOptions>;
