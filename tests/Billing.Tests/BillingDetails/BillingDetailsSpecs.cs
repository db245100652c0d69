using Lanes.Billing.BillingDetails;

namespace Lanes.Billing.Tests.BillingDetails;

/// <summary>What an owner sends → the billing contact kept, or the rule that refuses it. No database.</summary>
public class BillingDetailsSpecs
{
    private static readonly DateTimeOffset Now = new(2026, 11, 2, 10, 30, 0, TimeSpan.Zero);
    private static readonly Guid Tenant = Guid.NewGuid();

    private static readonly BillingAddressInput Berlin = new(" Friedrichstr. 123 ", "", "Berlin", "10117", null, "de");

    private static BillingContact Decide(string? email = "billing@acme.test", string? name = "Acme GmbH", BillingAddressInput? address = null) =>
        BillingDetailsDecisions.Decide(Tenant, new BillingDetailsCommand(email, name, address), "owner-1", Now);

    private static string Refused(string? email = "billing@acme.test", string? name = "Acme GmbH", BillingAddressInput? address = null) =>
        Assert.Throws<RuleViolation>(() => Decide(email, name, address)).Code;

    [Fact]
    public void Details_are_kept_trimmed_with_blanks_as_nothing_and_the_country_in_capitals()
    {
        var contact = Decide(" billing@acme.test ", "Acme GmbH", Berlin);

        Assert.Equal(new BillingContact(Tenant, "billing@acme.test", "Acme GmbH",
            new BillingAddress("Friedrichstr. 123", null, "Berlin", "10117", null, "DE"), "owner-1", Now), contact);
        Assert.Equal(Tenant, contact.TenantId);
    }

    [Fact]
    public void Every_field_may_be_left_empty_and_an_address_of_blanks_is_no_address()
    {
        var contact = Decide(email: " ", name: null, address: new BillingAddressInput("", " ", null, null, null, ""));

        Assert.Equal((null, null, null), (contact.Email, contact.Name, contact.Address));
    }

    [Theory]
    [InlineData("not-an-email")]
    [InlineData("Billing <billing@acme.test>")]
    [InlineData("billing@acme.test, ceo@acme.test")]
    [InlineData("billing@acme.test\r\nBcc: all@acme.test")]
    public void A_billing_email_is_one_plain_address(string email)
    {
        Assert.Equal("invalid_email", Refused(email: email));
    }

    [Fact]
    public void Names_and_address_lines_are_one_line_of_bounded_length()
    {
        Assert.Equal("invalid_name", Refused(name: new string('a', BillingDetailsDecisions.MaxName + 1)));
        Assert.Equal("invalid_name", Refused(name: "Acme\nGmbH"));
        Assert.Equal("invalid_address", Refused(address: Berlin with { Line1 = new string('a', BillingDetailsDecisions.MaxLine + 1) }));
        Assert.Equal("invalid_address", Refused(address: Berlin with { PostalCode = "10117\0" }));
        Assert.Equal(BillingDetailsDecisions.MaxName, Decide(name: new string('a', BillingDetailsDecisions.MaxName)).Name!.Length);
    }

    [Theory]
    [InlineData("UK", "GB for the United Kingdom")]
    [InlineData("Germany", "two-letter ISO 3166-1 code")]
    [InlineData("XX", "two-letter ISO 3166-1 code")]
    [InlineData("D", "two-letter ISO 3166-1 code")]
    public void A_country_is_an_iso_3166_code_and_the_refusal_says_how_to_write_it(string country, string hint)
    {
        var refused = Assert.Throws<RuleViolation>(() => Decide(address: Berlin with { Country = country }));

        Assert.Equal("invalid_country", refused.Code);
        Assert.Contains(hint, refused.Message);
    }

    [Fact]
    public void An_address_needs_its_first_line_and_country()
    {
        Assert.Equal("address_incomplete", Refused(address: Berlin with { Country = null }));
        Assert.Equal("address_incomplete", Refused(address: Berlin with { Line1 = " " }));
        Assert.Equal("JP", Decide(address: new BillingAddressInput("1-1 Chiyoda", null, null, null, null, "jp")).Address!.Country);
    }
}
