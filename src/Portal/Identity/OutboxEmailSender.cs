using System.Collections.Concurrent;
using Microsoft.AspNetCore.Identity;

namespace Lanes.Portal.Identity;

/// <summary>An email the portal sent (or would have sent).</summary>
public sealed record OutboxMessage(Guid Id, string To, string Subject, string HtmlBody, DateTimeOffset SentAt);

/// <summary>
/// Where email goes when no SMTP server is configured: kept in memory and shown at the development-only page
/// <c>/dev/outbox</c>, so sign-up and password reset work offline.
/// </summary>
public sealed class Outbox(TimeProvider clock)
{
    private readonly ConcurrentQueue<OutboxMessage> _messages = new();

    public IReadOnlyList<OutboxMessage> Messages => _messages.Reverse().ToList();

    public void Add(string to, string subject, string htmlBody)
    {
        _messages.Enqueue(new OutboxMessage(Guid.NewGuid(), to, subject, htmlBody, clock.GetUtcNow()));
        while (_messages.Count > 500 && _messages.TryDequeue(out _))
        {
        }
    }
}

/// <summary>Identity's emails, through whichever mailer is configured.</summary>
public sealed class LanesEmailSender(IMailer mail) : IEmailSender<LanesUser>
{
    public Task SendConfirmationLinkAsync(LanesUser user, string email, string confirmationLink)
    {
        return mail.SendAsync(email, "Confirm your email for Lanes", $"Confirm your account: <a href='{confirmationLink}'>confirm my email</a>.");
    }

    public Task SendPasswordResetLinkAsync(LanesUser user, string email, string resetLink)
    {
        return mail.SendAsync(email, "Reset your Lanes password", $"Reset your password: <a href='{resetLink}'>choose a new password</a>.");
    }

    public Task SendPasswordResetCodeAsync(LanesUser user, string email, string resetCode)
    {
        return mail.SendAsync(email, "Reset your Lanes password", $"Your password reset code: {resetCode}");
    }
}
