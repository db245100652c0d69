using System.ClientModel;
using System.Net;
using System.Text;
using System.Text.Json;
using OpenAI.Chat;
using static Lanes.Inference.Tests.Api.ChatCompletionsTests;

namespace Lanes.Inference.Tests.Api.Tools;

/// <summary>
/// The tool loop through the official OpenAI .NET client, on the scripted engine (which calls the tools a user line
/// <c>call NAME {args}</c> names, and answers a tool result with <c>tool said: …</c>).
/// </summary>
public class ToolCallingTests(GatewayOnKestrel gateway) : IClassFixture<GatewayOnKestrel>
{
    internal static readonly ChatTool Weather = ChatTool.CreateFunctionTool("get_weather", "The weather in a city now.",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"],"additionalProperties":false}"""), functionSchemaIsStrict: true);

    internal static readonly ChatTool Time = ChatTool.CreateFunctionTool("get_time", "The local time in a city.",
        BinaryData.FromString("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}"""));

    [Fact]
    public async Task A_tool_call_and_its_result_complete_the_loop()
    {
        var (_, key) = await gateway.TenantWithKey();
        await ToolLoop(gateway.Chat(key.Secret));
    }

    [Fact]
    public async Task A_streamed_tool_loop_sends_parallel_calls_as_openai_deltas_with_usage_last()
    {
        var (_, key) = await gateway.TenantWithKey();
        await StreamedParallelToolLoop(gateway.Chat(key.Secret));
    }

    [Fact]
    public async Task Tool_choice_names_requires_or_forbids_a_call()
    {
        var (_, key) = await gateway.TenantWithKey();
        var chat = gateway.Chat(key.Secret);
        List<ChatMessage> ask = [new UserChatMessage("What now?")];

        ChatCompletion named = await chat.CompleteChatAsync(ask, Options(ChatToolChoice.CreateFunctionChoice("get_time")));
        ChatCompletion required = await chat.CompleteChatAsync(ask, Options(ChatToolChoice.CreateRequiredChoice()));
        ChatCompletion none = await chat.CompleteChatAsync([new UserChatMessage("call get_weather {\"city\":\"Oslo\"}")], Options(ChatToolChoice.CreateNoneChoice()));
        ChatCompletion auto = await chat.CompleteChatAsync(ask, Options(ChatToolChoice.CreateAutoChoice()));

        Assert.Equal(("get_time", ChatFinishReason.ToolCalls), (Assert.Single(named.ToolCalls).FunctionName, named.FinishReason));
        Assert.Equal("get_weather", Assert.Single(required.ToolCalls).FunctionName);
        Assert.Empty(none.ToolCalls);
        Assert.Equal(ChatFinishReason.Stop, none.FinishReason);
        Assert.Empty(auto.ToolCalls);
    }

    [Fact]
    public async Task Parallel_tool_calls_false_gets_one_call_at_a_time()
    {
        var (_, key) = await gateway.TenantWithKey();
        var options = Options(ChatToolChoice.CreateAutoChoice());
        options.AllowParallelToolCalls = false;

        ChatCompletion completion = await gateway.Chat(key.Secret).CompleteChatAsync(
            [new UserChatMessage("call get_weather {\"city\":\"Oslo\"}\ncall get_time {\"city\":\"Oslo\"}")], options);

        Assert.Equal("get_weather", Assert.Single(completion.ToolCalls).FunctionName);
    }

    [Theory]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"},{"role":"tool","tool_call_id":"call_x","content":"42"}]}""", "messages[1].tool_call_id")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a"}}],"tool_choice":{"type":"function","function":{"name":"b"}}}""", "tool_choice")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"tool_choice":"required"}""", "tool_choice")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"x":{"type":"strin"}}}}}]}""", "tools[0].function.parameters.properties.x.type")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"function","function":{"name":"has space"}}]}""", "tools[0].function.name")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"code_interpreter"}]}""", "tools[0].type")]
    [InlineData("""{"model":"scripted","messages":[{"role":"assistant","tool_calls":[{"id":"c1","type":"function","function":{"name":"a","arguments":{}}}]}]}""", "messages[0].tool_calls[0].function.arguments")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"store":true}""", "store")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"type":"object"}}}}""", "response_format")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"presence_penalty":0.5}""", "presence_penalty")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png;base64,AA=="}}]}]}""", "messages[0].content[0]")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":[{"type":5,"text":"x"}]}]}""", "messages[0].content[0].type")]
    [InlineData("""{"model":"scripted","messages":[{"role":"user","content":"hi"}],"functions":[]}""", "functions")]
    public async Task Bad_tool_requests_get_400_naming_the_param(string body, string param)
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();

        using var response = await http.SendAsync(Post("/v1/chat/completions", key.Secret, body));
        using var error = JsonDocument.Parse(await response.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(param, error.RootElement.GetProperty("error").GetProperty("param").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.RootElement.GetProperty("error").GetProperty("message").GetString()));
    }

    [Fact]
    public async Task Hints_agents_send_are_accepted()
    {
        var (_, key) = await gateway.TenantWithKey();
        using var http = gateway.Http();

        using var response = await http.SendAsync(Post("/v1/chat/completions", key.Secret,
            """{"model":"scripted","messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"hi"}]}],"n":1,"store":false,"metadata":{"run":"ci-7"},"reasoning_effort":"low","service_tier":"auto","user":"dev-1","presence_penalty":0,"frequency_penalty":0,"logit_bias":{},"logprobs":false,"parallel_tool_calls":true,"response_format":{"type":"text"},"max_completion_tokens":3}"""));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    internal static ChatCompletionOptions Options(ChatToolChoice choice) => new() { Tools = { Weather, Time }, ToolChoice = choice };

    internal static async Task ToolLoop(ChatClient chat)
    {
        List<ChatMessage> messages = [new UserChatMessage("What is the weather in Oslo?\ncall get_weather {\"city\":\"Oslo\"}")];
        var options = Options(ChatToolChoice.CreateAutoChoice());

        ChatCompletion call = await chat.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.ToolCalls, call.FinishReason);
        var toolCall = Assert.Single(call.ToolCalls);
        Assert.Equal("get_weather", toolCall.FunctionName);
        Assert.Equal("Oslo", JsonDocument.Parse(toolCall.FunctionArguments).RootElement.GetProperty("city").GetString());
        Assert.False(string.IsNullOrEmpty(toolCall.Id));

        messages.Add(new AssistantChatMessage(call));
        messages.Add(new ToolChatMessage(toolCall.Id, "sunny, 18 C"));
        ChatCompletion answer = await chat.CompleteChatAsync(messages, options);

        Assert.Equal(ChatFinishReason.Stop, answer.FinishReason);
        Assert.Empty(answer.ToolCalls);
        Assert.Equal("tool said: sunny, 18 C", answer.Content[0].Text);
        Assert.True(answer.Usage.InputTokenCount > call.Usage.InputTokenCount);
    }

    internal static async Task StreamedParallelToolLoop(ChatClient chat)
    {
        List<ChatMessage> messages = [new UserChatMessage("call get_weather {\"city\":\"Oslo\"}\ncall get_time {\"city\":\"Bergen, Norway\"}")];
        var options = Options(ChatToolChoice.CreateAutoChoice());
        var ids = new Dictionary<int, string>();
        var names = new Dictionary<int, string>();
        var arguments = new Dictionary<int, StringBuilder>();
        ChatFinishReason? finish = null;
        ChatTokenUsage? usage = null;
        var updatesAfterUsage = 0;

        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            if (usage is not null)
            {
                updatesAfterUsage++;
            }

            foreach (var piece in update.ToolCallUpdates)
            {
                if (piece.ToolCallId is { } id)
                {
                    ids[piece.Index] = id;
                    names[piece.Index] = piece.FunctionName;
                }

                (arguments.TryGetValue(piece.Index, out var sb) ? sb : arguments[piece.Index] = new StringBuilder())
                    .Append(piece.FunctionArgumentsUpdate?.ToString());
            }

            finish ??= update.FinishReason;
            usage ??= update.Usage;
        }

        Assert.Equal(ChatFinishReason.ToolCalls, finish);
        Assert.Equal(["get_weather", "get_time"], names.OrderBy(n => n.Key).Select(n => n.Value));
        Assert.Equal("Bergen, Norway", JsonDocument.Parse(arguments[1].ToString()).RootElement.GetProperty("city").GetString());
        Assert.NotNull(usage);
        Assert.Equal(0, updatesAfterUsage);

        messages.Add(new AssistantChatMessage(ids.OrderBy(i => i.Key).Select(i =>
            ChatToolCall.CreateFunctionToolCall(i.Value, names[i.Key], BinaryData.FromString(arguments[i.Key].ToString()))).ToList()));
        messages.Add(new ToolChatMessage(ids[0], "sunny"));
        messages.Add(new ToolChatMessage(ids[1], "09:00"));
        var answer = new StringBuilder();
        await foreach (var update in chat.CompleteChatStreamingAsync(messages, options))
        {
            answer.Append(string.Concat(update.ContentUpdate.Select(p => p.Text)));
        }

        Assert.Equal("tool said: sunny; 09:00", answer.ToString());
    }
}
