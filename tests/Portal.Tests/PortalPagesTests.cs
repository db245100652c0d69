using System.Net;
using Lanes.Testing;

namespace Lanes.Portal.Tests;

[Collection(PortalHosts.Name)]
public class PortalPagesTests(AppFactory<Program> portal) : IClassFixture<AppFactory<Program>>
{
    [Fact]
    public async Task The_landing_page_renders_the_plan_catalog_with_mudblazor_and_no_operator_detail_for_visitors()
    {
        var html = await portal.CreateClient().GetStringAsync("/");

        Assert.Contains("mud-layout", html);
        // How the deployment bills is for staff; a visitor sees the trial on offer instead.
        Assert.DoesNotContain("Internal billing", html);
        Assert.Contains("Start a 14-day free trial", html);
        Assert.Matches("_content/MudBlazor/MudBlazor\\.min(\\.[a-z0-9]+)?\\.css", html);
        foreach (var plan in new[] { "Starter", "Pro", "Team", "Enterprise" })
        {
            Assert.Contains(plan, html);
        }
    }

    [Fact]
    public async Task The_portal_is_ready_once_the_database_is_reachable()
    {
        var response = await portal.CreateClient().GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"postgresql\":\"healthy\"", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/billing/api/subscription")]
    [InlineData("/billing/api/preview?plan=team")]
    public async Task Billing_actions_need_a_signed_in_member(string path)
    {
        var response = await portal.CreateClient(new() { AllowAutoRedirect = false }).GetAsync(path);

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task The_stripe_webhook_does_not_exist_in_internal_mode()
    {
        var response = await portal.CreateClient().PostAsync("/stripe/webhook", new StringContent("{}"));

        Assert.True(response.StatusCode == HttpStatusCode.NotFound, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_jobs_dashboard_is_closed_to_anonymous_visitors()
    {
        var response = await portal.CreateClient().GetAsync("/hangfire");

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }
}
