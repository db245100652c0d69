using System.ComponentModel.DataAnnotations;

namespace Lanes.Portal.Identity;

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
