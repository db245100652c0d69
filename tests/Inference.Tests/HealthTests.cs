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
    public async Task Readyz_reports_the_database_the_key_directory_and_the_drain_and_healthz_only_the_process()
    {
        var client = gateway.CreateClient();
        var ready = await client.GetAsync("/readyz");

        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal("healthy", body.RootElement.GetProperty("status").GetString());
        Assert.Equal(["drain", "keys", "postgresql"], body.RootElement.GetProperty("checks").EnumerateObject().Select(c => c.Name).Order());
        Assert.All(body.RootElement.GetProperty("checks").EnumerateObject(), c => Assert.Equal("healthy", c.Value.GetString()));

        using var live = JsonDocument.Parse(await client.GetStringAsync("/healthz"));
        Assert.Empty(live.RootElement.GetProperty("checks").EnumerateObject());
    }
}

/// <summary>A gateway whose database is dropped under it.</summary>
public sealed class GatewayLosingItsDatabase : ScriptedGateway;

public class HealthWithoutDatabaseTests(GatewayLosingItsDatabase gateway) : IClassFixture<GatewayLosingItsDatabase>
{
    [Fact]
    public async Task A_gateway_that_loses_its_database_stays_live_and_ready_and_says_the_database_is_degraded()
    {
        var client = gateway.CreateClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/readyz")).StatusCode);

        await gateway.Database.DisposeAsync();

        // It serves from memory (keys, leased budgets, the usage spool): an orchestrator must neither restart it nor
        // take it out of the load balancer, which would stop every gateway at once in a database outage.
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync("/healthz")).StatusCode);
        var ready = await client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        using var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        Assert.Equal(("degraded", "degraded"), (body.RootElement.GetProperty("status").GetString(), body.RootElement.GetProperty("checks").GetProperty("postgresql").GetString()));
        Assert.Equal("PostgreSQL is not reachable.", body.RootElement.GetProperty("reasons").GetProperty("postgresql").GetString());
    }
}
