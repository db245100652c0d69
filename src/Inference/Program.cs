using Lanes.Shared.Hosting;
using Lanes.Billing;
using Lanes.Inference;
using Lanes.Inference.Engine.Torch.Demo;

if (args is ["demo-model", ..])
{
    return DemoModel.Run(args[1..]);
}

// Note: Npgsql waits synchronously on a thread-pool thread for the cancel request it sends when a command times out;
// against a database that stopped answering each such wait holds a thread for the connect timeout (5 s). With the
// pool's floor at the core count, a few of them on a small node leave every request queued behind the pool's slow
// thread injection (a 45 s blackhole: 503s that take 750 ms took up to 3 s). A higher floor costs nothing unused.
ThreadPool.GetMinThreads(out var workers, out var completions);
ThreadPool.SetMinThreads(Math.Max(workers, 32), completions);

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
