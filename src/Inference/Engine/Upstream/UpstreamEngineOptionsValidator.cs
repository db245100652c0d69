using Microsoft.Extensions.Options;

namespace Lanes.Inference.Engine.Upstream;

/// <summary>Validates <see cref="UpstreamEngineOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class UpstreamEngineOptionsValidator : IValidateOptions<UpstreamEngineOptions>;
