using Microsoft.Extensions.Options;

namespace Lanes.Portal.Identity;

/// <summary>Validates <see cref="MailOptions"/>'s annotations at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class MailOptionsValidator : IValidateOptions<MailOptions>;
