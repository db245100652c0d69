using Microsoft.Extensions.Options;

namespace Lanes.Inference.Engine.Torch;

/// <summary>Validates <see cref="TorchEngineOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class TorchEngineOptionsValidator : IValidateOptions<TorchEngineOptions>;
