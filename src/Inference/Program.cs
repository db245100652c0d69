using Lanes.Billing;

var builder = WebApplication.CreateBuilder(args);
builder.AddLanesLogging();
builder.AddBilling(BillingRole.Services);

var app = builder.Build();
app.MapLanesHealth();

await app.RunAsync();

/// <summary>Entry point type, visible to the tests' WebApplicationFactory.</summary>
public partial class Program;
