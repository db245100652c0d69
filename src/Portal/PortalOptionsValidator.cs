using Microsoft.Extensions.Options;

namespace Lanes.Portal;

/// <summary>Validates <see cref="PortalOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class PortalOptionsValidator : IValidateOptions<PortalOptions>;
