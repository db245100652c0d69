using Lanes.Inference.Engine;
using Lanes.Inference.Engine.Torch.Batching;
using Lanes.Inference.Engine.Torch.Tokenization;

namespace Lanes.Inference.Tests.Engine.Torch.Batching;

public class ToolCallStreamTests
{
    private static readonly string[] Tools = ["get_weather", "get_time"];

    [Fact]
    public void A_hermes_call_streams_its_name_first_then_its_arguments_in_pieces()
    {
        var stream = new ToolCallStream(ChatFormat.ChatMl, Tools);
        var output = new List<(string? Text, ToolCallDelta? Call)>();
        var generated = "Checking.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\", \"days\": 2}}\n</tool_call>";

        // Fed a few characters at a time, as tokens arrive.
        var namedAfter = -1;
        for (var i = 0; i < generated.Length; i += 3)
        {
            output.AddRange(stream.Add(generated.Substring(i, Math.Min(3, generated.Length - i))));
            if (namedAfter < 0 && output.Any(o => o.Call?.Name is not null))
            {
                namedAfter = i;
            }
        }

        output.AddRange(stream.Finish());

        Assert.Equal("Checking.", string.Concat(output.Select(o => o.Text)));
        var pieces = output.Where(o => o.Call is not null).Select(o => o.Call!.Value).ToList();
        Assert.Equal(("get_weather", 0), (pieces[0].Name, pieces[0].Index));
        Assert.StartsWith("call_", pieces[0].Id);
        Assert.Equal("""{"city": "Oslo", "days": 2}""", string.Concat(pieces.Select(p => p.Arguments)));
        Assert.True(pieces.Count(p => p.Arguments is { Length: > 0 }) > 1, "arguments arrive in several pieces");
        Assert.True(namedAfter < generated.IndexOf("Oslo", StringComparison.Ordinal), "the call is named before its arguments are done");
        Assert.Equal(1, stream.Calls);
    }

    [Fact]
    public void Padding_before_the_calls_closing_brace_is_not_part_of_the_arguments()
    {
        var stream = new ToolCallStream(ChatFormat.ChatMl, Tools);
        var output = new List<(string? Text, ToolCallDelta? Call)>();

        foreach (var piece in new[] { "<tool_call>\n{\"name\": \"get_time\", \"arguments\": { \"zone\":", " \"UTC\" }", " ", "}", "\n</tool_call>" })
        {
            output.AddRange(stream.Add(piece));
        }

        output.AddRange(stream.Finish());

        Assert.Equal("""{ "zone": "UTC" }""", string.Concat(output.Select(o => o.Call?.Arguments)));
    }

    [Fact]
    public void Two_blocks_are_two_calls_with_their_own_indices()
    {
        var stream = new ToolCallStream(ChatFormat.ChatMl, Tools);

        var output = stream.Add("<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {}}\n</tool_call>\n<tool_call>\n{\"name\": \"get_time\", \"arguments\": {\"zone\": \"UTC\"}}\n</tool_call>");
        output.AddRange(stream.Finish());

        var starts = output.Where(o => o.Call?.Id is not null).Select(o => (o.Call!.Value.Index, o.Call.Value.Name)).ToList();
        Assert.Equal([(0, "get_weather"), (1, "get_time")], starts);
        Assert.Equal("""{"zone": "UTC"}""", string.Concat(output.Where(o => o.Call?.Index == 1).Select(o => o.Call!.Value.Arguments)));
        Assert.DoesNotContain(output, o => o.Text is not null);
    }

    [Fact]
    public void A_block_naming_an_unknown_tool_is_passed_on_as_text()
    {
        var stream = new ToolCallStream(ChatFormat.ChatMl, Tools);
        const string generated = "<tool_call>\n{\"name\": \"rm_rf\", \"arguments\": {}}\n</tool_call>";

        var output = stream.Add(generated);
        output.AddRange(stream.Finish());

        Assert.Equal(generated, string.Concat(output.Select(o => o.Text)));
        Assert.Equal(0, stream.Calls);
    }

    [Fact]
    public void Without_tools_everything_is_text()
    {
        var stream = new ToolCallStream(ChatFormat.ChatMl, []);

        var output = stream.Add("<tool_call>{}</tool_call>");

        Assert.Equal("<tool_call>{}</tool_call>", string.Concat(output.Select(o => o.Text)));
    }

    [Fact]
    public void A_llama_reply_that_is_one_json_call_becomes_a_call()
    {
        var stream = new ToolCallStream(ChatFormat.Llama3, Tools);

        var output = stream.Add("{\"name\": \"get_time\", ");
        output.AddRange(stream.Add("\"parameters\": {\"zone\": \"CET\"}}"));
        output.AddRange(stream.Finish());

        var call = Assert.Single(output).Call!.Value;
        Assert.Equal(("get_time", """{"zone": "CET"}"""), (call.Name, call.Arguments));
    }

    [Fact]
    public void A_llama_reply_in_words_streams_as_text()
    {
        var stream = new ToolCallStream(ChatFormat.Llama3, Tools);

        var first = stream.Add("It is ");
        var second = stream.Add("sunny.");

        Assert.Equal(("It is ", "sunny."), (first.Single().Text, second.Single().Text));
    }

    [Fact]
    public void Mistral_calls_after_the_marker_become_calls_and_the_text_before_stays_text()
    {
        var stream = new ToolCallStream(ChatFormat.Mistral, Tools);

        var output = stream.Add("Let me look.[TOOL");
        output.AddRange(stream.Add("_CALLS] [{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}, {\"name\": \"get_time\", \"arguments\": {}}]"));
        output.AddRange(stream.Finish());

        Assert.Equal("Let me look.", string.Concat(output.Select(o => o.Text)));
        Assert.Equal([("get_weather", """{"city": "Oslo"}"""), ("get_time", "{}")], output.Where(o => o.Call is not null).Select(o => (o.Call!.Value.Name!, o.Call.Value.Arguments!)));
        Assert.Equal(2, stream.Calls);
    }

    [Fact]
    public void A_mistral_marker_followed_by_no_call_is_text()
    {
        var stream = new ToolCallStream(ChatFormat.Mistral, Tools);

        var output = stream.Add("[TOOL_CALLS] not json");
        output.AddRange(stream.Finish());

        Assert.Equal("[TOOL_CALLS] not json", string.Concat(output.Select(o => o.Text)));
        Assert.Equal(0, stream.Calls);
    }
}
