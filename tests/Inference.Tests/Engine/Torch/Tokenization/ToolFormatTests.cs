using System.Text.Json;
using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Tests.Engine.Torch.Tokenization;

public class ToolFormatTests
{
    private static readonly ToolDefinition Weather = new("get_weather", "Weather now.",
        JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""").RootElement, false);

    private static readonly ChatRequest Loop = new(
        [
            new ChatTurn("user", "Weather in Oslo?"),
            new ChatTurn("assistant", "", [new ToolCall("c1", "get_weather", """{"city":"Oslo"}""")]),
            new ChatTurn("tool", "sunny", ToolCallId: "c1"),
        ],
        [Weather], ToolChoice.Auto, true, OutputFormat.Text);

    [Fact]
    public void ChatMl_renders_tools_calls_and_results_as_qwen25s_template_does()
    {
        var (turns, preamble) = ToolFormat.Apply(ChatFormat.ChatMl, Loop, "You are a helpful assistant.");

        Assert.Null(preamble);
        Assert.Equal(["system", "user", "assistant", "user"], turns.Select(t => t.Role));
        Assert.Equal(
            "You are a helpful assistant.\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\n" +
            "You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n" +
            """{"type": "function", "function": {"name": "get_weather", "description": "Weather now.", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}""" +
            "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n" +
            "<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call>",
            turns[0].Content);
        Assert.Equal("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>", turns[2].Content);
        Assert.Equal("<tool_response>\nsunny\n</tool_response>", turns[3].Content);
    }

    [Fact]
    public void Llama3_puts_tools_in_the_first_user_turn_and_results_in_ipython_turns()
    {
        var (turns, preamble) = ToolFormat.Apply(ChatFormat.Llama3, Loop, null);

        Assert.Equal("Environment: ipython\n", preamble);
        Assert.Equal(["user", "assistant", "ipython"], turns.Select(t => t.Role));
        Assert.StartsWith("Given the following functions", turns[0].Content);
        Assert.EndsWith("\n\nWeather in Oslo?", turns[0].Content);
        Assert.Equal("""{"name": "get_weather", "parameters": {"city": "Oslo"}}""", turns[1].Content);
    }

    [Fact]
    public void Tool_choice_none_leaves_the_tools_out()
    {
        var (turns, _) = ToolFormat.Apply(ChatFormat.ChatMl, Loop with { ToolChoice = ToolChoice.None }, null);

        Assert.DoesNotContain(turns, t => t.Content.Contains("<tools>"));
    }
}
