using Microsoft.Extensions.Options;

namespace Lanes.Billing.Notices;

/// <summary>Validates <see cref="NoticeOptions"/>'s annotations and its <see cref="NoticeOptions.Validate"/> at start, without reflection (source-generated).</summary>
[OptionsValidator]
public sealed partial class NoticeOptionsValidator : IValidateOptions<NoticeOptions>;
