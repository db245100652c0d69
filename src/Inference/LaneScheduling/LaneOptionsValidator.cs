using Microsoft.Extensions.Options;

namespace Lanes.Inference.LaneScheduling;

/// <summary>Validates <see cref="LaneOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class LaneOptionsValidator : IValidateOptions<LaneOptions>;
