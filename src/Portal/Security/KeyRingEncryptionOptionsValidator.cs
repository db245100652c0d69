using Microsoft.Extensions.Options;

namespace Lanes.Portal.Security;

/// <summary>Validates <see cref="KeyRingEncryptionOptions"/>'s annotations and its <see cref="KeyRingEncryptionOptions.Validate"/> at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class KeyRingEncryptionOptionsValidator : IValidateOptions<KeyRingEncryptionOptions>;
