using Microsoft.Extensions.Options;

namespace Lanes.Inference.Metering;

/// <summary>Validates <see cref="MeteringOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class MeteringOptionsValidator : IValidateOptions<MeteringOptions>;
