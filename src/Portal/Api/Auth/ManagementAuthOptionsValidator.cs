using Microsoft.Extensions.Options;

namespace Lanes.Portal.Api.Auth;

public sealed class ManagementAuthOptionsValidator(IHostEnvironment environment) : IValidateOptions<ManagementAuthOptions>
{
    public ValidateOptionsResult Validate(string? name, ManagementAuthOptions options)
    {
        if (options.AccessTokenLifetime < TimeSpan.FromMinutes(1) || options.AccessTokenLifetime > TimeSpan.FromHours(1))
        {
            return ValidateOptionsResult.Fail("ManagementApi:AccessTokenLifetime is between 1 minute and 1 hour.");
        }

        return string.IsNullOrWhiteSpace(options.KeysPath) && !environment.IsDevelopment()
            ? ValidateOptionsResult.Fail("ManagementApi:KeysPath is required outside Development: token signing keys must outlive a restart.")
            : ValidateOptionsResult.Success;
    }
}
