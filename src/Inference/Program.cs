using Lanes.Billing;
using Lanes.Inference;

var builder = WebApplication.CreateBuilder(args);
builder.AddLanesLogging();
builder.AddBilling(BillingRole.Services);
builder.AddGateway();

var app = builder.Build();
app.MapLanesHealth();
app.MapGateway();

await app.RunAsync();

/// <summary>Entry point type, visible to the tests.</summary>
public partial class Program;
