using System.Net;
using System.Text.Json;
using Lanes.Testing;
using Microsoft.AspNetCore.Hosting;

namespace Lanes.Inference.Tests;

/// <summary>The gateway in-memory with the scripted engine: health does not depend on a model.</summary>
public class ScriptedGateway : AppFactory<Program>
{
    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        base.ConfigureWebHost(builder);
        builder.UseSetting("Engine:Kind", "scripted");
    }
}

public class HealthTests(ScriptedGateway gateway) : IClassFixture<ScriptedGateway>
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
public sealed class GatewayLosingItsDatabase : ScriptedGateway;

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
