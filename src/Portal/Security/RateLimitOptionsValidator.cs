using Microsoft.Extensions.Options;

namespace Lanes.Portal.Security;

/// <summary>Validates <see cref="RateLimitOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class RateLimitOptionsValidator : IValidateOptions<RateLimitOptions>;
