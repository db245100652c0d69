using Microsoft.Extensions.Options;

namespace Lanes.Billing.Keys;

public sealed class KeyOptionsValidator : IValidateOptions<KeyOptions>
{
    public ValidateOptionsResult Validate(string? name, KeyOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Pepper))
        {
            return ValidateOptionsResult.Fail("Keys:Pepper is required (base64, at least 32 bytes); ./lanes up generates one under .data/.");
        }

        var buffer = new byte[options.Pepper.Length];
        if (!Convert.TryFromBase64String(options.Pepper, buffer, out var length) || length < 32)
        {
            return ValidateOptionsResult.Fail("Keys:Pepper must be base64 of at least 32 bytes.");
        }

        return options.RotationGrace < TimeSpan.Zero || options.RotationGrace > TimeSpan.FromDays(7)
            ? ValidateOptionsResult.Fail("Keys:RotationGrace is between 0 and 7 days.")
            : ValidateOptionsResult.Success;
    }
}
