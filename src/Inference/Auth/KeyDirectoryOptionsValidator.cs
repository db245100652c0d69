using Microsoft.Extensions.Options;

namespace Lanes.Inference.Auth;

/// <summary>Validates <see cref="KeyDirectoryOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class KeyDirectoryOptionsValidator : IValidateOptions<KeyDirectoryOptions>;
