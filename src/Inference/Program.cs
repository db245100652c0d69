using Lanes.Shared.Hosting;
using Lanes.Billing;
using Lanes.Inference;
using Lanes.Inference.Engine.Torch.Demo;

if (args is ["demo-model", ..])
{
    return DemoModel.Run(args[1..]);
}

var builder = WebApplication.CreateBuilder(args);
builder.AddLanesLogging();
builder.AddGatewayContract();
builder.AddGateway();

var app = builder.Build();
app.MapLanesHealth();
app.MapGateway();

await app.RunAsync();
return 0;

/// <summary>Entry point type, visible to the tests.</summary>
public partial class Program;
