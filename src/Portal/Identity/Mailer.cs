using System.ComponentModel.DataAnnotations;
using System.Net;
using System.Net.Mail;
using Microsoft.Extensions.Options;

namespace Lanes.Portal.Identity;

/// <summary>Sends the portal's email (confirmations, resets, invitations).</summary>
public interface IMailer
{
    Task SendAsync(string to, string subject, string htmlBody, CancellationToken ct = default);
}

/// <summary>SMTP settings (<c>Mail</c> section). Without a host, email goes to the development outbox.</summary>
public sealed class MailOptions
{
    public const string Section = "Mail";

    public string? SmtpHost { get; set; }

    [Range(1, 65535)]
    public int SmtpPort { get; set; } = 587;

    public bool SmtpSsl { get; set; } = true;

    public string? SmtpUser { get; set; }

    public string? SmtpPassword { get; set; }

    /// <summary>A mailbox, optionally with a display name ("Lanes &lt;no-reply@example.com&gt;").</summary>
    [Required]
    public string From { get; set; } = "Lanes <no-reply@lanes.local>";

    public bool UsesSmtp => !string.IsNullOrWhiteSpace(SmtpHost);
}

public sealed class OutboxMailer(Outbox outbox) : IMailer
{
    public Task SendAsync(string to, string subject, string htmlBody, CancellationToken ct = default)
    {
        outbox.Add(to, subject, htmlBody);
        return Task.CompletedTask;
    }
}

public sealed class SmtpMailer(IOptions<MailOptions> options) : IMailer
{
    public async Task SendAsync(string to, string subject, string htmlBody, CancellationToken ct = default)
    {
        var o = options.Value;
        using var client = new SmtpClient(o.SmtpHost, o.SmtpPort) { EnableSsl = o.SmtpSsl };
        if (!string.IsNullOrEmpty(o.SmtpUser))
        {
            client.Credentials = new NetworkCredential(o.SmtpUser, o.SmtpPassword);
        }

        using var message = new MailMessage(MailAddress.TryCreate(o.From, out var from) ? from : new MailAddress("no-reply@lanes.local"), new MailAddress(to))
        {
            Subject = subject,
            Body = htmlBody,
            IsBodyHtml = true,
        };
        await client.SendMailAsync(message, ct);
    }
}
