using Microsoft.Extensions.Options;

namespace Lanes.Inference.Api;

/// <summary>Validates <see cref="GatewayOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class GatewayOptionsValidator : IValidateOptions<GatewayOptions>;
