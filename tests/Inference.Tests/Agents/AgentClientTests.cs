using Lanes.Inference.Tests.Api;
using Lanes.Inference.Tests.Engine.Torch;
using Lanes.Testing;
using Lanes.Inference.Tests.Engine.Upstream;

namespace Lanes.Inference.Tests.Agents;

/// <summary>
/// A gateway in upstream mode whose upstream is a scripted model that calls tools (another Lanes gateway on the
/// scripted engine), with contexts large enough for a coding agent's system prompt and tool list.
/// </summary>
public sealed class AgentStack : IAsyncLifetime
{
    public const int Context = 262_144;

    public GatewayOnKestrel Upstream { get; } = new LargeScripted();

    public GatewayBeforeUpstream.Front Gateway { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        await Upstream.InitializeAsync();
        var (_, key) = await Upstream.TenantWithKey(budget: 100m);
        Gateway = new GatewayBeforeUpstream.Front(Upstream.V1.ToString(), key.Secret, Context);
        await Gateway.InitializeAsync();
    }

    public async Task DisposeAsync()
    {
        await ((IAsyncLifetime)Gateway).DisposeAsync();
        await ((IAsyncLifetime)Upstream).DisposeAsync();
    }

    private sealed class LargeScripted : GatewayOnKestrel
    {
        protected override IEnumerable<KeyValuePair<string, string?>> Settings => [new("Engine:Scripted:ContextTokens", Context.ToString(System.Globalization.CultureInfo.InvariantCulture))];
    }
}

public class AgentClientTests(AgentStack stack) : IClassFixture<AgentStack>
{
    private static readonly TimeSpan Patience = TimeSpan.FromMinutes(3);

    [Fact]
    public async Task The_openai_node_sdk_runs_tool_loops_through_an_upstream()
    {
        var (_, key) = await stack.Gateway.TenantWithKey(budget: 50m);

        var (exit, output) = await NodeClient.RunAsync("node", ["openai-tool-loop.mjs"], Environment(key.Secret, "fleet-model", "scripted"), Patience);

        Assert.True(exit == 0, output);
        Assert.Contains("tool said: sunny; 09:00", output);
    }

    [Fact]
    public async Task The_anthropic_node_sdk_runs_its_tool_round_trip_through_an_upstream()
    {
        // The Messages door in front, an OpenAI-compatible upstream behind: the request is translated on the way.
        var (_, key) = await stack.Gateway.TenantWithKey(budget: 50m);
        var (_, tiny) = await stack.Gateway.TenantWithKey(budget: 0.000001m);

        var (exit, output) = await NodeClient.RunAsync("node", ["anthropic-messages.mjs"], new Dictionary<string, string>
        {
            ["LANES_ROOT_URL"] = stack.Gateway.BaseAddress.ToString().TrimEnd('/'),
            ["LANES_API_KEY"] = key.Secret,
            ["LANES_TINY_KEY"] = tiny.Secret,
            ["LANES_MODEL"] = "fleet-model",
        }, Patience);

        Assert.True(exit == 0, output);
    }

    [Fact]
    public async Task The_qwen_code_agent_cli_completes_a_task_that_needs_a_tool()
    {
        var (_, key) = await stack.Gateway.TenantWithKey(budget: 50m);
        var work = Directory.CreateTempSubdirectory("lanes-agent-");
        try
        {
            // The scripted upstream model asks the agent to run the command; the agent runs it and reports back.
            var prompt = "Create hello.txt containing the word lanes.\ncall run_shell_command {\"command\":\"printf lanes > hello.txt\",\"description\":\"write the file\"}";

            var (exit, output) = await NodeClient.RunAsync(Path.Combine(NodeClient.Folder, "qwen-code-task.sh"), [work.FullName, prompt],
                Environment(key.Secret, "fleet-model", "scripted"), Patience);

            Assert.True(exit == 0, output);
            Assert.Equal("lanes", await File.ReadAllTextAsync(Path.Combine(work.FullName, "hello.txt")));
            Assert.Contains("tool said:", output);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    internal static Dictionary<string, string> Environment(string secret, string model, string mode, Uri? baseUrl = null) => new()
    {
        ["LANES_BASE_URL"] = (baseUrl ?? throw new ArgumentNullException(nameof(baseUrl))).ToString(),
        ["LANES_API_KEY"] = secret,
        ["LANES_MODEL"] = model,
        ["LANES_TOOL_MODE"] = mode,
    };

    private Dictionary<string, string> Environment(string secret, string model, string mode) => Environment(secret, model, mode, stack.Gateway.V1);
}

/// <summary>The official OpenAI Node SDK's tool loop and structured output on the torch engine (the tiny model standing
/// in for the demo model): calls are forced with tool_choice and constrained decoding keeps them valid.</summary>
public class TorchAgentClientTests(GatewayOnTorchEngineForTools gateway) : IClassFixture<GatewayOnTorchEngineForTools>
{
    [Fact]
    public async Task The_openai_node_sdk_runs_tool_loops_and_structured_output_on_the_torch_engine()
    {
        var (_, key) = await gateway.TenantWithKey(budget: 50m);

        var (exit, output) = await NodeClient.RunAsync("node", ["openai-tool-loop.mjs"],
            AgentClientTests.Environment(key.Secret, "lanes-demo", "model", gateway.V1), TimeSpan.FromMinutes(3));

        Assert.True(exit == 0, output);
    }
}

/// <summary>The torch-engine gateway with room for tool definitions in the prompt.</summary>
public sealed class GatewayOnTorchEngineForTools : GatewayOnTorchEngine
{
    protected override int ContextTokens => 2048;
}

/// <summary>The official OpenAI .NET client's tool loop on the torch engine.</summary>
public class TorchDotnetToolLoopTests(GatewayOnTorchEngineForTools gateway) : IClassFixture<GatewayOnTorchEngineForTools>
{
    [Fact]
    public async Task The_dotnet_sdk_gets_a_forced_call_streamed_then_answers_from_the_tool_result()
    {
        var (_, key) = await gateway.TenantWithKey(budget: 50m);
        var chat = gateway.Chat(key.Secret, "lanes-demo");
        List<OpenAI.Chat.ChatMessage> messages = [new OpenAI.Chat.UserChatMessage("What is the weather in Oslo?")];
        // A bounded argument: a random-weight model would otherwise write the string until max_tokens.
        var weather = OpenAI.Chat.ChatTool.CreateFunctionTool("get_weather", "The weather in a city now.",
            BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string","maxLength":16}},"required":["city"],"additionalProperties":false}"""), functionSchemaIsStrict: true);
        var options = new OpenAI.Chat.ChatCompletionOptions { Tools = { weather }, ToolChoice = OpenAI.Chat.ChatToolChoice.CreateFunctionChoice("get_weather"), MaxOutputTokenCount = 200 };
        string? id = null, name = null;
        var arguments = "";
        OpenAI.Chat.ChatFinishReason? finish = null;

        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            foreach (var piece in update.ToolCallUpdates)
            {
                id ??= piece.ToolCallId;
                name ??= piece.FunctionName;
                arguments += piece.FunctionArgumentsUpdate?.ToString();
            }

            finish ??= update.FinishReason;
        }

        Assert.Equal((OpenAI.Chat.ChatFinishReason.ToolCalls, "get_weather"), (finish, name));
        using (var args = System.Text.Json.JsonDocument.Parse(arguments))
        {
            Assert.Equal(System.Text.Json.JsonValueKind.String, args.RootElement.GetProperty("city").ValueKind);
        }

        messages.Add(new OpenAI.Chat.AssistantChatMessage([OpenAI.Chat.ChatToolCall.CreateFunctionToolCall(id!, name!, BinaryData.FromString(arguments))]));
        messages.Add(new OpenAI.Chat.ToolChatMessage(id!, "sunny"));
        var answerOptions = new OpenAI.Chat.ChatCompletionOptions { Tools = { weather }, ToolChoice = OpenAI.Chat.ChatToolChoice.CreateNoneChoice(), MaxOutputTokenCount = 16 };
        OpenAI.Chat.ChatCompletion answer = await chat.CompleteChatAsync(messages, answerOptions);

        // A tiny random model may end its turn at once: what matters is an answer, not another call.
        Assert.Empty(answer.ToolCalls);
        Assert.Contains(answer.FinishReason, new[] { OpenAI.Chat.ChatFinishReason.Stop, OpenAI.Chat.ChatFinishReason.Length });
    }
}
