using System.Globalization;
using System.Security.Claims;
using System.Threading.RateLimiting;
using Lanes.Portal.Api.Auth;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;

namespace Lanes.Portal.Security;

/// <summary>
/// ASP.NET Core rate limiting on the doors attackers script against: sign-up, sign-in, password reset and
/// confirmation emails, the management API's token endpoint (per client address), and the billing API (per user,
/// through <see cref="AccountLimits"/>). A refusal is 429 with <c>Retry-After</c>, never a 5xx.
/// </summary>
public static class RateLimits
{
    public static IHostApplicationBuilder AddPortalRateLimits(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<RateLimitOptions>().BindConfiguration(RateLimitOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<RateLimitOptions>, RateLimitOptionsValidator>();
        builder.Services.AddSingleton<AccountLimits>();
        builder.Services.AddRateLimiter(_ => { });
        builder.Services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((o, limits) =>
        {
            o.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, (string Door, string Address)>(http => Door(http, limits.Value) is { } door
                ? RateLimitPartition.GetFixedWindowLimiter((door.Name, AddressOf(http)), _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = door.Permits,
                    Window = door.Window,
                    QueueLimit = 0,
                })
                : RateLimitPartition.GetNoLimiter((string.Empty, string.Empty)));
            o.OnRejected = (context, ct) => RefuseAsync(context.HttpContext, context.Lease, ct);
        });
        return builder;
    }

    /// <summary>Which limited door a request knocks on, if any. Forms post back to their own page.</summary>
    private static (string Name, int Permits, TimeSpan Window)? Door(HttpContext http, RateLimitOptions limits)
    {
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            return null;
        }

        var path = http.Request.Path;
        if (path.StartsWithSegments("/Account/Register", StringComparison.OrdinalIgnoreCase))
        {
            return ("signup", limits.SignUpsPerHourPerAddress, TimeSpan.FromHours(1));
        }

        if (path.StartsWithSegments("/Account/Login", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/Account/LoginWith2fa", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/Account/LoginWithRecoveryCode", StringComparison.OrdinalIgnoreCase))
        {
            return ("signin", limits.SignInsPerMinutePerAddress, TimeSpan.FromMinutes(1));
        }

        if (path.StartsWithSegments("/Account/ForgotPassword", StringComparison.OrdinalIgnoreCase)
            || path.StartsWithSegments("/Account/ResendEmailConfirmation", StringComparison.OrdinalIgnoreCase))
        {
            return ("email", limits.EmailsPerHourPerAddress, TimeSpan.FromHours(1));
        }

        return path.StartsWithSegments(TokenEndpoint.Path, StringComparison.OrdinalIgnoreCase)
            ? ("token", limits.TokensPerMinutePerAddress, TimeSpan.FromMinutes(1))
            : null;
    }

    private static string AddressOf(HttpContext http) => http.Connection.RemoteIpAddress?.ToString() ?? "unknown";

    /// <summary>429 with how long to wait: ProblemDetails for APIs, a readable page for people.</summary>
    public static async ValueTask RefuseAsync(HttpContext http, RateLimitLease lease, CancellationToken ct)
    {
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
        var seconds = Math.Max(1, (int)Math.Ceiling(wait.TotalSeconds));
        http.Response.StatusCode = StatusCodes.Status429TooManyRequests;
        http.Response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        var message = $"Too many attempts. Try again in {(seconds >= 120 ? $"{seconds / 60} minutes" : $"{seconds} seconds")}.";
        if (http.Request.Path.StartsWithSegments("/Account"))
        {
            http.Response.ContentType = "text/html; charset=utf-8";
            await http.Response.WriteAsync($"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Too many attempts</title></head><body><h1>Too many attempts</h1><p class=\"rate-limited\">{message}</p></body></html>", ct);
        }
        else
        {
            await Results.Problem(statusCode: 429, title: message, type: "rate_limited").ExecuteAsync(http);
        }
    }

    /// <summary>The billing API's per-user limit, as an endpoint filter (it needs the signed-in user).</summary>
    public static TBuilder RequirePerUserLimit<TBuilder>(this TBuilder builder) where TBuilder : IEndpointConventionBuilder =>
        builder.AddEndpointFilter(async (context, next) =>
        {
            var http = context.HttpContext;
            var limits = http.RequestServices.GetRequiredService<AccountLimits>();
            var user = http.User.FindFirstValue(ClaimTypes.NameIdentifier) ?? AddressOf(http);
            using var lease = limits.TryAcquire(AccountLimits.BillingApi, user);
            if (!lease.IsAcquired)
            {
                await RefuseAsync(http, lease, http.RequestAborted);
                return Results.Empty;
            }

            return await next(context);
        });
}

/// <summary>Limits keyed by an account rather than an address: emails sent to one account, billing calls by one user.</summary>
public sealed class AccountLimits : IDisposable
{
    public const string Emails = "emails";
    public const string BillingApi = "billing";

    private readonly PartitionedRateLimiter<(string Kind, string Account)> _limiter;

    public AccountLimits(IOptions<RateLimitOptions> options)
    {
        var limits = options.Value;
        _limiter = PartitionedRateLimiter.Create<(string Kind, string Account), (string, string)>(key => RateLimitPartition.GetFixedWindowLimiter(key, k => k.Item1 == Emails
            ? new FixedWindowRateLimiterOptions { PermitLimit = limits.EmailsPerHourPerAccount, Window = TimeSpan.FromHours(1), QueueLimit = 0 }
            : new FixedWindowRateLimiterOptions { PermitLimit = limits.BillingCallsPerMinutePerUser, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 }));
    }

    public RateLimitLease TryAcquire(string kind, string account) => _limiter.AttemptAcquire((kind, account));

    public void Dispose() => _limiter.Dispose();
}
