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
