using Lanes.Billing;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;

namespace Lanes.Portal.Identity;

public static class IdentityHostingExtensions
{
    /// <summary>Identity for the web portal: the user store plus cookie sign-in and the staff policy.</summary>
    public static IHostApplicationBuilder AddPortalIdentity(this IHostApplicationBuilder builder)
    {
        builder.AddIdentityStore();
        builder.Services.AddAuthentication(o =>
            {
                o.DefaultScheme = IdentityConstants.ApplicationScheme;
                o.DefaultSignInScheme = IdentityConstants.ExternalScheme;
            })
            .AddIdentityCookies();
        builder.Services.AddScoped<Components.Account.IdentityRedirectManager>();
        builder.Services.AddScoped<Microsoft.AspNetCore.Components.Authorization.AuthenticationStateProvider, Components.Account.IdentityRevalidatingAuthenticationStateProvider>();
        builder.Services.AddOptions<MailOptions>().BindConfiguration(MailOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Outbox>();
        if (builder.Configuration.GetSection(MailOptions.Section).Get<MailOptions>() is { UsesSmtp: true })
        {
            builder.Services.AddSingleton<IMailer, SmtpMailer>();
        }
        else
        {
            builder.Services.AddSingleton<IMailer, OutboxMailer>();
        }

        builder.Services.AddSingleton<IEmailSender<LanesUser>, LanesEmailSender>();
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Roles.Staff, p => p.RequireRole(Roles.Staff));
        builder.Services.AddIdentityCore<LanesUser>().AddSignInManager();
        builder.Services.ConfigureApplicationCookie(o =>
        {
            // APIs answer 401/403; only pages redirect to sign-in.
            o.Events.OnRedirectToLogin = context => Answer(context, StatusCodes.Status401Unauthorized);
            o.Events.OnRedirectToAccessDenied = context => Answer(context, StatusCodes.Status403Forbidden);
        });
        return builder;
    }

    private static Task Answer(Microsoft.AspNetCore.Authentication.RedirectContext<Microsoft.AspNetCore.Authentication.Cookies.CookieAuthenticationOptions> context, int status)
    {
        if (context.Request.Path.StartsWithSegments("/billing/api") || context.Request.Path.StartsWithSegments("/api"))
        {
            context.Response.StatusCode = status;
        }
        else
        {
            context.Response.Redirect(context.RedirectUri);
        }

        return Task.CompletedTask;
    }

    /// <summary>The user store and user management only (what the operator CLI needs, with no web pipeline).</summary>
    public static IHostApplicationBuilder AddIdentityStore(this IHostApplicationBuilder builder)
    {
        var connectionString = builder.Configuration.GetConnectionString(BillingHostingExtensions.ConnectionStringName)!;
        // Note: the key ring protects sign-in cookies, antiforgery and Identity's tokens; kept in the database so
        // a restart or a second replica does not sign everyone out.
        builder.Services.AddDataProtection()
            .SetApplicationName("Lanes.Portal")
            .PersistKeysToDbContext<IdentityStore>();
        builder.Services.AddDbContext<IdentityStore>(o => o
            .UseNpgsql(connectionString, npgsql => npgsql.MigrationsHistoryTable("__ef_migrations", IdentityStore.Schema))
            .UseOpenIddict());
        builder.Services.AddIdentityCore<LanesUser>(o =>
            {
                o.SignIn.RequireConfirmedAccount = true;
                o.User.RequireUniqueEmail = true;
                o.Password.RequiredLength = 10;
                o.Lockout.MaxFailedAccessAttempts = 5;
                o.Lockout.DefaultLockoutTimeSpan = TimeSpan.FromMinutes(15);
                o.Stores.SchemaVersion = IdentitySchemaVersions.Version3;
            })
            .AddRoles<IdentityRole>()
            .AddEntityFrameworkStores<IdentityStore>()
            .AddDefaultTokenProviders();
        return builder;
    }
}
