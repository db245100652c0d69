using System.Net.Mail;
using System.Text.Json.Serialization;

namespace Lanes.Billing.BillingDetails;

/// <summary>The billing details an owner sends (every field optional; blank clears it). <paramref name="CommandId"/>
/// makes the push to Stripe idempotent, so a retried save updates the customer once.</summary>
public sealed record BillingDetailsCommand(
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("address")] BillingAddressInput? Address,
    [property: JsonPropertyName("command_id")] Guid CommandId = default);

public sealed record BillingAddressInput(
    [property: JsonPropertyName("line1")] string? Line1,
    [property: JsonPropertyName("line2")] string? Line2,
    [property: JsonPropertyName("city")] string? City,
    [property: JsonPropertyName("postal_code")] string? PostalCode,
    [property: JsonPropertyName("state")] string? State,
    [property: JsonPropertyName("country")] string? Country);

/// <summary>The billing details as the billing API and the management API show them (nulls where nothing is set).</summary>
public sealed record BillingDetailsView(
    [property: JsonPropertyName("email")] string? Email,
    [property: JsonPropertyName("name")] string? Name,
    [property: JsonPropertyName("address")] BillingAddressInput? Address,
    [property: JsonPropertyName("updated_at")] DateTimeOffset? UpdatedAt)
{
    public static BillingDetailsView Of(BillingContact? c) => new(c?.Email, c?.Name,
        c?.Address is { } a ? new BillingAddressInput(a.Line1, a.Line2, a.City, a.PostalCode, a.State, a.Country) : null, c?.UpdatedAt);
}

/// <summary>Pure: what an owner sent becomes the tenant's billing contact, trimmed and checked, or a
/// <see cref="RuleViolation"/> that says which field is wrong and how to write it.</summary>
public static class BillingDetailsDecisions
{
    // Stripe's own limits are larger (email 512, name 256); these fit an invoice and a mail header.
    public const int MaxEmail = 254;
    public const int MaxName = 150;
    public const int MaxLine = 200;
    public const int MaxCity = 100;
    public const int MaxState = 100;
    public const int MaxPostalCode = 20;

    public static BillingContact Decide(Guid tenantId, BillingDetailsCommand command, string by, DateTimeOffset now)
    {
        var email = Clean(command.Email, "email", "The billing email", MaxEmail);
        if (email is not null && (!MailAddress.TryCreate(email, out var address) || address.Address != email))
        {
            throw new RuleViolation("invalid_email", $"'{email}' is not an email address: write it as billing@example.com, without a name or brackets.");
        }

        var name = Clean(command.Name, "name", "The billing name", MaxName);
        return new BillingContact(tenantId, email, name, AddressOf(command.Address), by, now);
    }

    private static BillingAddress? AddressOf(BillingAddressInput? input)
    {
        if (input is null)
        {
            return null;
        }

        var line1 = Clean(input.Line1, "address", "The first address line", MaxLine);
        var line2 = Clean(input.Line2, "address", "The second address line", MaxLine);
        var city = Clean(input.City, "address", "The city", MaxCity);
        var postalCode = Clean(input.PostalCode, "address", "The postal code", MaxPostalCode);
        var state = Clean(input.State, "address", "The state or region", MaxState);
        var country = Clean(input.Country, "country", "The country", MaxState)?.ToUpperInvariant();
        if (line1 is null && line2 is null && city is null && postalCode is null && state is null && country is null)
        {
            return null;
        }

        if (line1 is null || country is null)
        {
            throw new RuleViolation("address_incomplete", "An address needs at least its first line and its country; leave every address field empty to have none.");
        }

        if (!IsoCountries.IsKnown(country))
        {
            throw new RuleViolation("invalid_country",
                $"'{country}' is not a country code: use the two-letter ISO 3166-1 code, such as DE, FR or US{(country == "UK" ? " (GB for the United Kingdom)" : "")}.");
        }

        return new BillingAddress(line1, line2, city, postalCode, state, country);
    }

    /// <summary>Trimmed, blank as null; refused when too long or holding control characters (a line break in a
    /// name would be a line break in an invoice, a NUL cannot be stored).</summary>
    private static string? Clean(string? value, string code, string what, int max)
    {
        var text = value?.Trim();
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        return text.Length > max || text.Any(char.IsControl)
            ? throw new RuleViolation($"invalid_{code}", $"{what} is at most {max} characters, on one line.")
            : text;
    }
}
