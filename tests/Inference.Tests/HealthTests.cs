using System.Net;
using System.Text.Json;
using Lanes.Testing;

namespace Lanes.Inference.Tests;

public class HealthTests(AppFactory<Program> gateway) : IClassFixture<AppFactory<Program>>
{
    [Fact]
    public async Task Healthz_reports_healthy_when_postgresql_answers()
    {
        var response = await gateway.CreateClient().GetAsync("/healthz");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal("healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal("healthy", body.RootElement.GetProperty("checks").GetProperty("postgresql").GetString());
    }
}

/// <summary>A gateway whose database is dropped under it.</summary>
public sealed class GatewayLosingItsDatabase : AppFactory<Program>;

public class HealthWithoutDatabaseTests(GatewayLosingItsDatabase gateway) : IClassFixture<GatewayLosingItsDatabase>
{
    [Fact]
    public async Task Healthz_is_unhealthy_when_postgresql_stops_answering()
    {
        var client = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);

        await gateway.Database.DisposeAsync();

        var response = await client.GetAsync("/healthz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("unhealthy", await response.Content.ReadAsStringAsync());
    }
}
