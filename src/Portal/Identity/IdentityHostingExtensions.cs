using Lanes.Billing;
using Lanes.Portal.Security;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Identity;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

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
        builder.Services.AddOptions<MailOptions>().BindConfiguration(MailOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<MailOptions>, MailOptionsValidator>();
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
        builder.Services.AddSingleton<Lanes.Billing.Notices.IBillingMailer, Notices.BillingNoticeMailer>();
        // Note: the staff policy needs a two-factor sign-in as well as the role (see StaffAccess).
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(Roles.Staff, p => p.RequireRole(Roles.Staff).RequireClaim(Security.StaffAccess.AuthenticationMethod, Security.StaffAccess.MultiFactor));
        builder.Services.AddIdentityCore<LanesUser>().AddSignInManager();
        builder.Services.AddSingleton<Security.StaffAccess>();
        builder.Services.AddSingleton<PublicLinks>();
        builder.Services.AddSingleton<Sessions>();

        // A cookie is checked against the user's security stamp this often: removing a member, a role or a password
        // signs that person out everywhere within this time (actions by staff and admins check at once anyway).
        var revalidation = builder.Configuration.GetValue("Portal:SessionRevalidation", TimeSpan.FromMinutes(1));
        builder.Services.Configure<SecurityStampValidatorOptions>(o =>
        {
            o.ValidationInterval = revalidation;
            // A revalidated session keeps how it signed in (two factors for staff); Identity rebuilds the rest.
            o.OnRefreshingPrincipal = context =>
            {
                if (context.NewPrincipal?.Identity is System.Security.Claims.ClaimsIdentity identity && context.CurrentPrincipal is { } current)
                {
                    foreach (var method in current.FindAll(StaffAccess.AuthenticationMethod).Where(c => !identity.HasClaim(c.Type, c.Value)))
                    {
                        identity.AddClaim(new System.Security.Claims.Claim(method.Type, method.Value));
                    }
                }

                return Task.CompletedTask;
            };
        });
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
        builder.Services.AddKeyRingEncryption();
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
